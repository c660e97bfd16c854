// Command explain writes CamLens explanations of image classifiers.
//
//	go run ./scripts/explain [flags] INPUT...
//
// For each input it writes into -out:
//
//	<name>.<method>.png       the map as a heatmap over the image
//	<name>.<method>.heat.png  the heatmap alone
//	<name>.<method>.npy       the post-processed map, H×W float32 (H×W×C for
//	                          guided-backprop and guided-gradcam: the guided
//	                          gradient, or Grad-CAM times it)
//	<name>.<method>.json      logits, top-k, the class explained, layers,
//	                          box, peak and timings
//
// where H×W is the network's input size. With -tensor each INPUT is a .npy
// float32 tensor, C×H×W or 1×C×H×W, already preprocessed; there is no
// image, so the overlay is drawn on a visualisation of the tensor: each
// channel min-max normalised to 0..255, shown as RGB for 3 channels (BGR
// models' channels reversed), grey for 1, and the channel mean otherwise.
//
// With several inputs a progress bar goes to stderr and a summary ends the
// run; a bad input is reported and skipped, and the exit status is 1 if any
// failed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/onnx"
	"github.com/camlens/camlens/core/tensor"
)

func main() {
	// Ctrl-C cancels a slow method between batches; the summary still prints.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// maxInputBytes bounds one input file.
const maxInputBytes = 256 << 20

type layerList []string

func (l *layerList) String() string     { return strings.Join(*l, ",") }
func (l *layerList) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	model, method, class, colormap, crop, out, target string
	layers                                            layerList
	topk                                              int
	alpha                                             float64
	tensor, eigenSmooth, listLayers, listMethods      bool
	// note, if set, shows a result's note (an all-zero map's reason).
	note func(msg string)
}

// run is the command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.model, "model", "", "CamLens model file (.safetensors)")
	fs.StringVar(&o.method, "method", "gradcam", "explanation method (see -list-methods)")
	fs.Var(&o.layers, "layer", "target layer (repeatable; default: the model's default layer, see -list-layers)")
	fs.StringVar(&o.class, "class", "top", "class to explain: top, an index, or a label")
	fs.IntVar(&o.topk, "topk", 5, "number of top classes in the JSON")
	fs.StringVar(&o.colormap, "colormap", "jet", "colormap: jet, turbo, viridis or inferno")
	fs.Float64Var(&o.alpha, "alpha", 0.5, "heatmap opacity in the overlay, 0..1")
	fs.StringVar(&o.crop, "crop", "", "crop x,y,w,h of each image before preprocessing (default: the whole image)")
	fs.StringVar(&o.out, "out", "explain-out", "output directory")
	fs.BoolVar(&o.listLayers, "list-layers", false, "list the model's candidate target layers and exit")
	fs.BoolVar(&o.listMethods, "list-methods", false, "list the explanation methods and exit")
	fs.BoolVar(&o.tensor, "tensor", false, "inputs are .npy float32 tensors (C×H×W or 1×C×H×W), already preprocessed")
	fs.StringVar(&o.target, "target", "logit", "target: logit or softmax")
	fs.BoolVar(&o.eigenSmooth, "eigen-smooth", false, "first principal component instead of the channel sum")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: explain [flags] INPUT...\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.listMethods {
		for _, m := range cam.Methods() {
			var tags []string
			if m.Gradients {
				tags = append(tags, "gradients")
			}
			if m.Slow {
				tags = append(tags, "slow: one forward pass per channel")
			}
			if !m.Class {
				tags = append(tags, "class-independent")
			}
			fmt.Fprintf(stdout, "%-20s %-26s %s\n", m.Name, m.Title, strings.Join(tags, ", "))
		}
		if o.model == "" {
			return 0
		}
	}
	if o.model == "" {
		fmt.Fprintln(stderr, "explain: -model is required")
		fs.Usage()
		return 2
	}
	model, err := loadModel(o.model)
	if err != nil {
		fmt.Fprintf(stderr, "explain: %v\n", err)
		return 1
	}
	if o.listLayers {
		for _, l := range model.Layers() {
			mark := " "
			if l.Name == model.DefaultLayer() {
				mark = "*"
			}
			fmt.Fprintf(stdout, "%s %-40s %s\n", mark, l.Name, dims(l.Shape))
		}
		return 0
	}
	if o.listMethods {
		return 0
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "explain: %v\n", err)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "explain: no INPUT given")
		fs.Usage()
		return 2
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "explain: %v\n", err)
		return 1
	}
	inputs := fs.Args()
	bar := newProgress(stderr, len(inputs) > 1)
	start := time.Now()
	failed, done := 0, 0
	for i, in := range inputs {
		bar.set(i, len(inputs), filepath.Base(in), "")
		o.note = func(msg string) {
			bar.clear()
			fmt.Fprintf(stderr, "explain: %s: note: %s\n", in, msg)
		}
		if err := explainOne(ctx, model, in, &o, func(done, total int) {
			bar.set(i, len(inputs), filepath.Base(in), fmt.Sprintf("channels %d/%d", done, total))
		}); err != nil {
			failed++
			bar.clear()
			fmt.Fprintf(stderr, "explain: %s: %v\n", in, err)
		}
		done++
		if ctx.Err() != nil {
			break
		}
	}
	bar.set(len(inputs), len(inputs), "", "")
	bar.done()
	if len(inputs) > 1 || failed > 0 {
		skipped := ""
		if done < len(inputs) {
			skipped = fmt.Sprintf(", %d skipped (interrupted)", len(inputs)-done)
		}
		fmt.Fprintf(stderr, "explain: %d of %d inputs explained with %s, %d failed%s, in %.1fs; output in %s\n",
			done-failed, len(inputs), o.method, failed, skipped, time.Since(start).Seconds(), o.out)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func (o *options) check() error {
	found := false
	for _, m := range cam.Methods() {
		found = found || m.Name == o.method
	}
	if !found {
		var names []string
		for _, m := range cam.Methods() {
			names = append(names, m.Name)
		}
		return fmt.Errorf("unknown -method %q (one of %s)", o.method, strings.Join(names, ", "))
	}
	if o.target != "logit" && o.target != "softmax" {
		return fmt.Errorf("-target %q: want logit or softmax", o.target)
	}
	if o.alpha < 0 || o.alpha > 1 {
		return fmt.Errorf("-alpha %v: want 0..1", o.alpha)
	}
	if o.topk < 1 {
		return fmt.Errorf("-topk %d: want at least 1", o.topk)
	}
	if _, err := imaging.LookupColormap(o.colormap); err != nil {
		return fmt.Errorf("-colormap: %w", err)
	}
	if _, err := parseCrop(o.crop); err != nil {
		return err
	}
	if o.tensor && o.crop != "" {
		return errors.New("-crop does not apply to -tensor inputs")
	}
	return nil
}

// loadModel reads a CamLens model file.
func loadModel(path string) (*cam.Model, error) {
	var m *modelfile.Model
	var err error
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		var data []byte
		if data, err = readFile(path); err == nil {
			m, err = onnx.Import(data)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else if m, err = modelfile.Load(path); err != nil {
		return nil, err
	}
	return cam.NewModel(m)
}

func parseCrop(s string) (image.Rectangle, error) {
	if s == "" {
		return image.Rectangle{}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("-crop %q: want x,y,w,h", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("-crop %q: %q is not an integer", s, p)
		}
		v[i] = n
	}
	if v[0] < 0 || v[1] < 0 || v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, fmt.Errorf("-crop %q: want x, y ≥ 0 and w, h > 0", s)
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

// parseClass resolves -class against the model.
func parseClass(s string, m *cam.Model) (int, error) {
	if s == "top" || s == "" {
		return -1, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n >= m.NumClasses() {
			return 0, fmt.Errorf("-class %d out of range [0, %d)", n, m.NumClasses())
		}
		return n, nil
	}
	for i, l := range m.Labels() {
		if strings.EqualFold(l, s) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("-class %q: not top, an index, or one of the labels %q", s, m.Labels())
}

// report is the JSON written per input.
type report struct {
	Input  string    `json:"input"`
	Model  string    `json:"model"`
	Method string    `json:"method"`
	Target string    `json:"target"`
	Layers []string  `json:"layers"`
	Class  int       `json:"class"`
	Label  string    `json:"label"`
	Logits []float32 `json:"logits"`
	TopK   []topK    `json:"topk"`
	Size   [2]int    `json:"size"` // W, H of the map (the network input)
	Box    box       `json:"box"`  // in map coordinates
	// ImageBox is Box in the image's pixel coordinates (image inputs).
	ImageBox *box   `json:"image_box,omitempty"`
	Peak     [2]int `json:"peak"` // x, y in map coordinates
	Smooth   bool   `json:"eigen_smooth,omitempty"`
	// Note explains an all-zero map (cam.Result.Note).
	Note    string  `json:"note,omitempty"`
	Timings timings `json:"timings_ms"`
}

type topK struct {
	Class int     `json:"class"`
	Label string  `json:"label"`
	Logit float32 `json:"logit"`
	Prob  float32 `json:"prob"`
}

type box struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

type timings struct {
	Load     float64 `json:"load"` // read, decode and preprocess
	Forward  float64 `json:"forward"`
	Backward float64 `json:"backward"`
	Method   float64 `json:"method"`
	Perturb  float64 `json:"perturbed_forward,omitempty"`
	Total    float64 `json:"total"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// explainOne runs one input and writes its four files.
func explainOne(ctx context.Context, model *cam.Model, path string, o *options, progress func(done, total int)) error {
	t0 := time.Now()
	data, err := readFile(path)
	if err != nil {
		return err
	}
	var sess *cam.Session
	var base image.Image
	if o.tensor {
		x, err := npy.Read(bytes.NewReader(data))
		if err != nil {
			return err
		}
		if x.Rank() == 4 && x.Shape[0] != 1 {
			return fmt.Errorf("tensor shape %v: batch must be 1", x.Shape)
		}
		if x.Rank() != 3 && x.Rank() != 4 {
			return fmt.Errorf("tensor shape %v: want C×H×W or 1×C×H×W", x.Shape)
		}
		tLoad := time.Since(t0)
		if sess, err = model.NewSession(x); err != nil {
			return err
		}
		base = tensorImage(sess.Input(), model.Meta().Preprocess.Channels == "BGR")
		return finish(ctx, sess, base, path, o, progress, tLoad, t0, nil)
	}
	img, _, err := imaging.Decode(data)
	if err != nil {
		return err
	}
	crop, _ := parseCrop(o.crop)
	if !crop.Empty() {
		crop = crop.Add(img.Bounds().Min)
	}
	geo, err := imaging.InputGeometry(img.Bounds(), crop, model.Meta().Preprocess)
	if err != nil {
		return err
	}
	tLoad := time.Since(t0)
	if sess, err = model.SessionFromImage(img, crop); err != nil {
		return err
	}
	return finish(ctx, sess, canvas(img, geo), path, o, progress, tLoad, t0, &geo)
}

// finish explains the session and writes the files. base is what the
// overlay is drawn on (it covers the network input); geo, for image inputs,
// maps input coordinates to the image.
func finish(ctx context.Context, sess *cam.Session, base image.Image, path string, o *options, progress func(done, total int), tLoad time.Duration, t0 time.Time, geo *imaging.Geometry) error {
	model := sess.Model()
	class, err := parseClass(o.class, model)
	if err != nil {
		return err
	}
	r, err := sess.Explain(ctx, cam.Request{
		Method: o.method, Class: class, Target: o.target, Layers: o.layers,
		EigenSmooth: o.eigenSmooth, Progress: progress,
	})
	if err != nil {
		return err
	}
	if r.Note != "" && o.note != nil {
		o.note(r.Note)
	}
	cm, err := imaging.LookupColormap(o.colormap)
	if err != nil {
		return err
	}
	stem := filepath.Join(o.out, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+"."+r.Method)
	if err := writePNG(stem+".png", imaging.Overlay(base, r.Map, r.W, r.H, cm, o.alpha)); err != nil {
		return err
	}
	if err := writePNG(stem+".heat.png", imaging.Heatmap(r.Map, r.W, r.H, cm)); err != nil {
		return err
	}
	out := &tensor.Tensor{Shape: []int{r.H, r.W}, Data: r.Map}
	if r.Guided != nil {
		out = &tensor.Tensor{Shape: []int{r.H, r.W, r.C}, Data: r.Guided}
	}
	if err := writeFile(stem+".npy", func(w io.Writer) error { return npy.Write(w, out) }); err != nil {
		return err
	}
	rep := report{
		Input: path, Model: model.Meta().Name, Method: r.Method, Target: r.Target, Layers: r.Layers,
		Class: r.Class, Label: r.Label, Logits: sess.Logits(), Size: [2]int{r.W, r.H},
		Box:    box{r.Box.Min.X, r.Box.Min.Y, r.Box.Dx(), r.Box.Dy()},
		Peak:   [2]int{r.Peak.X, r.Peak.Y},
		Smooth: o.eigenSmooth,
		Note:   r.Note,
		Timings: timings{
			Load: ms(tLoad), Forward: ms(sess.ForwardTime()), Backward: ms(r.Timings.Backward),
			Method: ms(r.Timings.Method), Perturb: ms(r.Timings.Forward), Total: ms(time.Since(t0)),
		},
	}
	if geo != nil && !r.Box.Empty() {
		b := geo.RectToImage(r.Box)
		rep.ImageBox = &box{b.Min.X, b.Min.Y, b.Dx(), b.Dy()}
	}
	for _, p := range sess.Predictions(o.topk) {
		rep.TopK = append(rep.TopK, topK{p.Class, p.Label, p.Logit, p.Prob})
	}
	return writeFile(stem+".json", func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	})
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a directory")
	}
	if st.Size() > maxInputBytes {
		return nil, fmt.Errorf("%d bytes, limit %d", st.Size(), maxInputBytes)
	}
	return io.ReadAll(io.LimitReader(f, maxInputBytes))
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func writePNG(path string, img image.Image) error {
	return writeFile(path, func(w io.Writer) error { return imaging.EncodePNG(w, img) })
}

// tensorImage visualises a 1×C×H×W tensor: each channel min-max
// normalised to 0..255; RGB for 3 channels (reversed when bgr), grey for 1,
// the channel mean otherwise.
func tensorImage(x *tensor.Tensor, bgr bool) image.Image {
	c, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	n := h * w
	norm := make([][]float32, c)
	for ch := range c {
		p := append([]float32(nil), x.Data[ch*n:(ch+1)*n]...)
		lo, hi := p[0], p[0]
		for _, v := range p {
			lo, hi = min(lo, v), max(hi, v)
		}
		for i, v := range p {
			if hi > lo {
				p[i] = (v - lo) / (hi - lo) * 255
			} else {
				p[i] = 0
			}
		}
		norm[ch] = p
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range n {
		var r, g, b float32
		switch c {
		case 3:
			r, g, b = norm[0][i], norm[1][i], norm[2][i]
			if bgr {
				r, b = b, r
			}
		default:
			s := float32(0)
			for ch := range c {
				s += norm[ch][i]
			}
			r = s / float32(c)
			g, b = r, r
		}
		img.SetRGBA(i%w, i/w, color.RGBA{uint8(r + 0.5), uint8(g + 0.5), uint8(b + 0.5), 255})
	}
	return img
}

// canvas returns the part of img that becomes the network input
// (geo.Canvas), with black where preprocessing pads (outside geo.Crop):
// the overlay's base, at the image's resolution.
func canvas(img image.Image, geo imaging.Geometry) image.Image {
	out := image.NewRGBA(image.Rectangle{Max: geo.Canvas.Size()})
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 255
	}
	for y := geo.Crop.Min.Y; y < geo.Crop.Max.Y; y++ {
		for x := geo.Crop.Min.X; x < geo.Crop.Max.X; x++ {
			if (image.Point{x, y}).In(geo.Canvas) {
				out.Set(x-geo.Canvas.Min.X, y-geo.Canvas.Min.Y, img.At(x, y))
			}
		}
	}
	return out
}

func dims(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = strconv.Itoa(d)
	}
	return strings.Join(p, "×")
}

// progress draws a one-line bar on stderr.
type progress struct {
	w       io.Writer
	enabled bool
	drawn   bool
}

func newProgress(w io.Writer, enabled bool) *progress { return &progress{w: w, enabled: enabled} }

func (p *progress) set(i, n int, name, detail string) {
	if !p.enabled {
		return
	}
	const width = 30
	fill := width * i / max(n, 1)
	line := fmt.Sprintf("\r[%s%s] %d/%d %s %s", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), i, n, name, detail)
	if len(line) > 100 {
		line = line[:100]
	}
	fmt.Fprintf(p.w, "%-100s", line)
	p.drawn = true
}

func (p *progress) clear() {
	if p.enabled && p.drawn {
		fmt.Fprintf(p.w, "\r%-100s\r", "")
		p.drawn = false
	}
}

func (p *progress) done() {
	if p.enabled && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
