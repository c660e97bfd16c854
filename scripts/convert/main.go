// Command convert turns an ONNX image classifier into a CamLens model file
// (a safetensors container with int8 per-channel conv/dense weights).
//
//	go run ./scripts/convert -in model.onnx [-labels labels.txt]
//	    [-mean 0.485,0.456,0.406 -std 0.229,0.224,0.225 -scale 0.00392157 -size 224 | 224x160]
//	    [-channels RGB -resize bilinear -fit stretch -crop square]
//	    [-name id -title "..." -license MIT -source "..." -attribution "..."]
//	    [-layer NAME] [-output TENSOR] [-float] [-list-layers]
//	    [-check IMAGE] [-check-tensor X.npy] -o model.safetensors
//
// It prints the size of the ONNX file and of the CamLens file (float32 and
// int8). -check runs an image through both the float and the int8 model
// and prints the largest logit difference and whether the top-1 classes
// agree; -check-tensor does the same for an input tensor stored as .npy
// (C×H×W or N×C×H×W, already normalised). -list-layers prints the 4-D
// layers a Grad-CAM can target, with their shapes, and marks the default
// (the last one with a spatial size above 1×1 before global pooling).
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"log"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/onnx"
	"github.com/camlens/camlens/core/tensor"
)

func main() {
	log.SetFlags(0)
	if err := run(os.Args[1:], os.Stdout); err != nil {
		log.Fatalf("convert: %v", err)
	}
}

type config struct {
	in, out, labels              string
	mean, std, size              string
	scale                        float64
	channels, resize, fit, crop  string
	name, title, license, source string
	attribution, layer, output   string
	description, provenanceJSON  string
	float, listLayers            bool
	checkImage, checkTensor      string
}

func parseFlags(args []string) (*config, error) {
	var c config
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.in, "in", "", "ONNX model to convert (required)")
	fs.StringVar(&c.out, "o", "", "CamLens model file to write (.safetensors)")
	fs.StringVar(&c.labels, "labels", "", "text file with one class label per line (default: class 0 … class K-1)")
	fs.StringVar(&c.mean, "mean", "", "per-channel mean, comma-separated (default: ImageNet for RGB)")
	fs.StringVar(&c.std, "std", "", "per-channel standard deviation, comma-separated")
	fs.Float64Var(&c.scale, "scale", 0, "pixel scale before mean/std (default 1/255)")
	fs.StringVar(&c.size, "size", "", "input size N or WxH (needed when the model's is symbolic)")
	fs.StringVar(&c.channels, "channels", "", "RGB, BGR or L")
	fs.StringVar(&c.resize, "resize", "", "bilinear, bilinear-tf or area")
	fs.StringVar(&c.fit, "fit", "", "stretch, pad-square or center-crop")
	fs.StringVar(&c.crop, "crop", "", "user-interface crop hint: square or empty")
	fs.StringVar(&c.name, "name", "", "model id")
	fs.StringVar(&c.title, "title", "", "human title")
	fs.StringVar(&c.license, "license", "", "SPDX licence id")
	fs.StringVar(&c.source, "source", "", "where the model comes from")
	fs.StringVar(&c.attribution, "attribution", "", "copyright line")
	fs.StringVar(&c.description, "description", "", "one-paragraph description of the model")
	fs.StringVar(&c.provenanceJSON, "provenance-json", "", "JSON file with more provenance fields (notes, metrics: {name: value}); sha256 defaults to the ONNX file's")
	fs.StringVar(&c.layer, "layer", "", "default target layer (an ONNX tensor name)")
	fs.StringVar(&c.output, "output", "", "ONNX tensor holding the logits (default: the first graph output)")
	fs.BoolVar(&c.float, "float", false, "store float32 weights instead of int8")
	fs.BoolVar(&c.listLayers, "list-layers", false, "print the candidate target layers")
	fs.StringVar(&c.checkImage, "check", "", "image to compare float and int8 logits on")
	fs.StringVar(&c.checkTensor, "check-tensor", "", ".npy input tensor to compare float and int8 logits on")
	if err := fs.Parse(args); err != nil {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		return nil, fmt.Errorf("%v\nflags:\n%s", err, b.String())
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.in == "" {
		return nil, errors.New("-in is required")
	}
	if c.out == "" && !c.listLayers && c.checkImage == "" && c.checkTensor == "" {
		return nil, errors.New("nothing to do: give -o, -list-layers or -check")
	}
	return &c, nil
}

// mergeProvenance overlays the non-empty fields of the JSON file at path
// (a modelfile.Provenance) onto p.
func mergeProvenance(p *modelfile.Provenance, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-provenance-json: %w", err)
	}
	var extra modelfile.Provenance
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&extra); err != nil {
		return fmt.Errorf("-provenance-json %s: %w", path, err)
	}
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&p.Source, extra.Source}, {&p.License, extra.License}, {&p.Attribution, extra.Attribution},
		{&p.SHA256, extra.SHA256}, {&p.Notes, extra.Notes},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if len(extra.Metrics) > 0 {
		p.Metrics = extra.Metrics
	}
	return nil
}

func floats(s, what string) ([]float32, error) {
	if s == "" {
		return nil, nil
	}
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil {
			return nil, fmt.Errorf("-%s: %v", what, err)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

// parseSize reads "N" or "WxH".
func parseSize(s string) (w, h int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	ws, hs, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		hs = ws
	}
	if w, err = strconv.Atoi(ws); err == nil {
		h, err = strconv.Atoi(hs)
	}
	if err != nil || w <= 0 || h <= 0 || w > 1<<14 || h > 1<<14 {
		return 0, 0, fmt.Errorf("-size %q: want N or WxH with positive sizes", s)
	}
	return w, h, nil
}

func readLabels(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var labels []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		labels = append(labels, strings.TrimSpace(sc.Text()))
	}
	for len(labels) > 0 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s: no labels", path)
	}
	return labels, sc.Err()
}

func run(args []string, stdout io.Writer) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(c.in)
	if err != nil {
		return err
	}
	labels, err := readLabels(c.labels)
	if err != nil {
		return fmt.Errorf("-labels: %w", err)
	}
	w, h, err := parseSize(c.size)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	prov := modelfile.Provenance{Source: c.source, License: c.license, Attribution: c.attribution, SHA256: hex.EncodeToString(sum[:])}
	if c.provenanceJSON != "" {
		if err := mergeProvenance(&prov, c.provenanceJSON); err != nil {
			return err
		}
	}
	opt := onnx.Options{Name: c.name, Title: c.title, Labels: labels, Output: c.output, Provenance: prov}
	if w > 0 {
		opt.InputShape = []int{0, 0, h, w}
	}
	m, err := onnx.ImportWith(data, opt)
	if err != nil {
		return err
	}
	if err := applyPreprocess(c, m); err != nil {
		return err
	}
	if c.layer != "" {
		m.Meta.DefaultLayer = c.layer
	}
	if c.description != "" {
		m.Meta.Description = c.description
	}
	g, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		return err
	}
	if c.listLayers {
		if err := listLayers(stdout, g, m.Meta.DefaultLayer); err != nil {
			return err
		}
	}
	var floatFile, quantFile bytes.Buffer
	if err := modelfile.Write(&floatFile, m, modelfile.WriteOptions{}); err != nil {
		return err
	}
	if err := modelfile.Write(&quantFile, m, modelfile.WriteOptions{Quantize: true}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s ONNX → %d CamLens nodes, %d classes; CamLens file %s float32, %s int8\n",
		c.in, human(len(data)), len(m.Graph.Nodes), len(m.Meta.Labels), human(floatFile.Len()), human(quantFile.Len()))
	q, err := modelfile.Parse(quantFile.Bytes())
	if err != nil {
		return fmt.Errorf("reading back the int8 file: %w", err)
	}
	qg, err := q.Build()
	if err != nil {
		return err
	}
	if c.checkImage != "" {
		x, err := imageInput(c.checkImage, m.Meta.Preprocess)
		if err != nil {
			return err
		}
		if err := compare(stdout, c.checkImage, g, qg, x, m.Meta.Labels); err != nil {
			return err
		}
	}
	if c.checkTensor != "" {
		x, err := npyInput(c.checkTensor, g.InputShape())
		if err != nil {
			return err
		}
		if err := compare(stdout, c.checkTensor, g, qg, x, m.Meta.Labels); err != nil {
			return err
		}
	}
	if c.out != "" {
		file := quantFile.Bytes()
		if c.float {
			file = floatFile.Bytes()
		}
		if err := os.WriteFile(c.out, file, 0o644); err != nil {
			return err
		}
		kind := "int8"
		if c.float {
			kind = "float32"
		}
		fmt.Fprintf(stdout, "wrote %s (%s, %s weights)\n", c.out, human(len(file)), kind)
	}
	return nil
}

// applyPreprocess overrides the importer's default preprocessing with the
// flags that were given.
func applyPreprocess(c *config, m *modelfile.Model) error {
	p := &m.Meta.Preprocess
	var err error
	if c.mean != "" {
		if p.Mean, err = floats(c.mean, "mean"); err != nil {
			return err
		}
	}
	if c.std != "" {
		if p.Std, err = floats(c.std, "std"); err != nil {
			return err
		}
	}
	if c.scale != 0 {
		p.Scale = float32(c.scale)
	}
	if c.channels != "" {
		p.Channels = c.channels
	}
	if c.resize != "" {
		p.Resize = c.resize
	}
	if c.fit != "" {
		p.Fit = c.fit
	}
	if c.crop != "" {
		p.Crop = c.crop
	}
	if in := m.Graph.Input.Shape; len(in) == 3 {
		p.Height, p.Width = in[1], in[2]
	}
	return m.Validate()
}

func listLayers(w io.Writer, g *nn.Graph, chosen string) error {
	def := -1
	if chosen != "" {
		k, err := g.Index(chosen)
		if err != nil {
			return fmt.Errorf("-layer: %w", err)
		}
		def = k
	} else if k, err := g.DefaultLayer(); err == nil {
		def = k
	}
	fmt.Fprintf(w, "4-D layers (* = default target):\n")
	for _, i := range g.Layers() {
		n := g.Nodes[i]
		mark := " "
		if i == def {
			mark = "*"
		}
		fmt.Fprintf(w, "%s %-50s %-14s %v\n", mark, n.Spec.Name, n.Spec.Op, n.Shape[1:])
	}
	return nil
}

func imageInput(path string, p modelfile.Preprocess) (*tensor.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, _, err := imaging.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return imaging.ToTensor(img, image.Rectangle{}, p)
}

func npyInput(path string, want []int) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := npy.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(x.Shape) == len(want)-1 {
		x.Shape = append([]int{1}, x.Shape...)
	}
	if len(x.Shape) != len(want) || !tensor.SameShape(x.Shape[1:], want[1:]) {
		return nil, fmt.Errorf("%s: shape %v, the model takes N×%v", path, x.Shape, want[1:])
	}
	return x, nil
}

// compare runs x through the float and the int8 graph and prints, per
// item, the largest logit difference and whether the top-1 class agrees.
func compare(w io.Writer, what string, fg, qg *nn.Graph, x *tensor.Tensor, labels []string) error {
	fa, err := fg.Forward(nil, x)
	if err != nil {
		return err
	}
	qa, err := qg.Forward(nil, x)
	if err != nil {
		return err
	}
	fo, qo := fa.Output(), qa.Output()
	n := fo.Shape[0]
	k := len(fo.Data) / n
	agree := 0
	for b := 0; b < n; b++ {
		fr, qr := fo.Data[b*k:(b+1)*k], qo.Data[b*k:(b+1)*k]
		ft, qt := argmax(fr), argmax(qr)
		if ft == qt {
			agree++
		}
		scale := 0.0
		for _, v := range fr {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		fmt.Fprintf(w, "check %s[%d]: logits max |float − int8| = %.4g (%.2g of max |logit|); top-1 float %d %q, int8 %d %q\n",
			what, b, tensor.MaxAbsDiff(fr, qr), tensor.MaxAbsDiff(fr, qr)/math.Max(scale, 1e-30), ft, label(labels, ft), qt, label(labels, qt))
	}
	fmt.Fprintf(w, "check %s: top-1 agreement %d/%d\n", what, agree, n)
	return nil
}

func label(labels []string, i int) string {
	if i < len(labels) {
		return labels[i]
	}
	return ""
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func human(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
