package facetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
	"github.com/camlens/camlens/core/tfjs"
)

const (
	faceAPIDir   = "../node/node_modules/@vladmandic/face-api"
	samplesDir   = "../../web/samples"
	shippedModel = "../../models/face-expression.safetensors"
	// faceExpressionBinSHA256 is the sha256 of model/face_expression_model.bin
	// in @vladmandic/face-api@1.7.15.
	faceExpressionBinSHA256 = "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d"
)

// Tolerances (absolute).
const (
	tolInput   = 1e-4 // normalised input, CamLens ToTensor vs face-api
	tolProb    = 1e-3 // probabilities, float model vs face-api
	tolLogit   = 1e-4 // logits, float model vs the face-api mirror
	tolMirror  = 1e-6 // probabilities, ref.js's mirror vs face-api's own forward
	tolCAMMap  = 1e-4 // Grad-CAM low-resolution map after ReLU + min-max
	tolWeights = 1e-4 // Grad-CAM channel weights, relative to their largest magnitude
	tolRaw     = 1e-4 // Grad-CAM signed map, relative to its largest magnitude
)

func requireDeps(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
		t.Fatalf("%s (CAMLENS_REQUIRE_DEPS=1)", msg)
	}
	t.Skipf("%s; run scripts/setup.d/20-npm.sh", msg)
}

type sampleSpec struct {
	File     string `json:"file"`
	Title    string `json:"title"`
	Model    string `json:"model"`
	Crop     []int  `json:"crop"`
	Expected string `json:"expected"`
	License  string `json:"license"`
	Credit   string `json:"credit"`
}

func loadSamples(t *testing.T) []sampleSpec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Samples []sampleSpec `json:"samples"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("samples.json: %v", err)
	}
	var faces []sampleSpec
	for _, s := range f.Samples {
		if s.Model == "face-expression" {
			faces = append(faces, s)
		}
	}
	return faces
}

// refCase is one crop given to ref.js, with what the Go side needs.
type refCase struct {
	Name    string   `json:"name"`
	RGB     string   `json:"rgb"`
	Height  int      `json:"height"`
	Width   int      `json:"width"`
	Classes []int    `json:"classes,omitempty"`
	Layers  []string `json:"layers,omitempty"`
	Detect  bool     `json:"detect,omitempty"`

	img      image.Image
	crop     image.Rectangle
	sample   *sampleSpec
	expected int
}

type refCAM struct {
	H, W    int
	Weights []float32
	Raw     []float32
	Map     []float32
	Logit   float32
}

type refDetection struct {
	X, Y, W, H, Score float64
}

type refResult struct {
	Name        string
	Input       []float32 // 1×112×112×3
	Probs       []float32
	Logits      []float32
	ProbsMirror []float32
	Cams        map[string]map[string]refCAM
	Detections  []refDetection
}

type refOutput struct {
	FaceAPI     string `json:"faceapi"`
	TFJS        string `json:"tfjs"`
	Backend     string
	GradBackend string
	Cases       []refResult
}

// rgbBytes returns the crop of img as row-major RGB bytes, the pixels as
// Go's image packages decode them (what CamLens sees).
func rgbBytes(img image.Image, r image.Rectangle) []byte {
	out := make([]byte, 0, r.Dx()*r.Dy()*3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out
}

func decodeSample(t *testing.T, file string) image.Image {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return img
}

// runRef writes the crops and the job for ref.js, runs it and parses its output.
func runRef(t *testing.T, cases []*refCase) *refOutput {
	t.Helper()
	dir := t.TempDir()
	for i, c := range cases {
		c.RGB = filepath.Join(dir, fmt.Sprintf("case%d.rgb", i))
		c.Width, c.Height = c.crop.Dx(), c.crop.Dy()
		if err := os.WriteFile(c.RGB, rgbBytes(c.img, c.crop), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job, err := json.Marshal(map[string]any{"cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	jobPath, outPath := filepath.Join(dir, "job.json"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(jobPath, job, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "ref.js", jobPath, outPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node ref.js: %v\n%s", err, out)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var out refOutput
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("ref.js output: %v", err)
	}
	if len(out.Cases) != len(cases) {
		t.Fatalf("ref.js returned %d cases for %d", len(out.Cases), len(cases))
	}
	return &out
}

// nhwcToNCHW converts face-api's 1×H×W×C input to CamLens's 1×C×H×W.
func nhwcToNCHW(t *testing.T, d []float32, h, w, c int) *tensor.Tensor {
	t.Helper()
	if len(d) != h*w*c {
		t.Fatalf("reference input has %d values, want %d", len(d), h*w*c)
	}
	x := tensor.New(1, c, h, w)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			for k := 0; k < c; k++ {
				x.Data[(k*h+y)*w+xx] = d[(y*w+xx)*c+k]
			}
		}
	}
	return x
}

func maxAbsDiff(a, b []float32) float64 { return tensor.MaxAbsDiff(a, b) }

func maxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

func argmax(a []float32) int {
	best := 0
	for i, v := range a {
		if v > a[best] {
			best = i
		}
	}
	return best
}

func softmax(logits []float32) []float32 {
	p := nn.SoftmaxRow(logits)
	out := make([]float32, len(p))
	for i, v := range p {
		out[i] = float32(v)
	}
	return out
}

// lowResMap is pytorch-grad-cam's post-processing before the upsampling:
// ReLU, then (c − min)/(1e-7 + max(c − min)).
func lowResMap(raw []float32) []float32 {
	out := make([]float32, len(raw))
	lo := float32(math.Inf(1))
	for i, v := range raw {
		out[i] = max(v, 0)
		lo = min(lo, out[i])
	}
	hi := float32(0)
	for i := range out {
		out[i] -= lo
		hi = max(hi, out[i])
	}
	for i := range out {
		out[i] /= 1e-7 + hi
	}
	return out
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	ia := float64(in.Dx() * in.Dy())
	return ia / float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()-in.Dx()*in.Dy())
}

func loadFloatModel(t *testing.T) *modelfile.Model {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join(faceAPIDir, "model", tfjs.FaceExpressionWeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	if got := hex.EncodeToString(sum[:]); got != faceExpressionBinSHA256 {
		t.Fatalf("installed %s has sha256 %s, want %s (face-api %s)", tfjs.FaceExpressionWeightsFile, got, faceExpressionBinSHA256, tfjs.FaceAPIVersion)
	}
	man, err := os.ReadFile(filepath.Join(faceAPIDir, "model", "face_expression_model-weights_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tfjs.ConvertFaceExpression(man, bin)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFaceAPIParity(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		requireDeps(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(faceAPIDir, "dist", "face-api.node-wasm.js")); err != nil {
		requireDeps(t, "@vladmandic/face-api is not installed under scripts/node/node_modules")
	}
	floatModel := loadFloatModel(t)
	shipped, err := modelfile.Load(shippedModel)
	if err != nil {
		t.Fatalf("the shipped model: %v", err)
	}
	if got := shipped.Meta.Provenance.SHA256; got != faceExpressionBinSHA256 {
		t.Errorf("shipped model provenance sha256 %s, want %s", got, faceExpressionBinSHA256)
	}
	fm, err := cam.NewModel(floatModel)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := cam.NewModel(shipped)
	if err != nil {
		t.Fatal(err)
	}
	labels := floatModel.Meta.Labels
	pre := floatModel.Meta.Preprocess

	// The cases: each sample's default crop (forward, int8, Grad-CAM), each
	// whole image (face detection; non-square input), and non-square crops
	// whose padding is odd in either direction.
	var cases []*refCase
	samples := loadSamples(t)
	for i := range samples {
		s := &samples[i]
		img := decodeSample(t, s.File)
		if len(s.Crop) != 4 || s.Crop[2] != s.Crop[3] {
			t.Fatalf("%s: crop %v is not a square [x, y, w, h]", s.File, s.Crop)
		}
		crop := image.Rect(s.Crop[0], s.Crop[1], s.Crop[0]+s.Crop[2], s.Crop[1]+s.Crop[3])
		if !crop.In(img.Bounds()) {
			t.Fatalf("%s: crop %v outside the image %v", s.File, crop, img.Bounds())
		}
		exp := slices.Index(labels, s.Expected)
		if exp < 0 {
			t.Fatalf("%s: expected class %q is not a label", s.File, s.Expected)
		}
		other := (exp + 3) % len(labels)
		cases = append(cases,
			&refCase{Name: s.File + " crop", img: img, crop: crop, sample: s, expected: exp,
				Classes: []int{exp, other}, Layers: []string{"dense3/out", "dense2/out"}},
			&refCase{Name: s.File + " whole", img: img, crop: img.Bounds(), sample: s, expected: -1, Detect: true})
	}
	b := cases[0].img.Bounds()
	cases = append(cases,
		&refCase{Name: "astronaut tall odd", img: cases[0].img, crop: image.Rect(160, 60, 261, 190).Intersect(b), expected: -1},
		&refCase{Name: "astronaut wide odd", img: cases[0].img, crop: image.Rect(120, 80, 311, 150).Intersect(b), expected: -1},
		&refCase{Name: "astronaut tiny", img: cases[0].img, crop: image.Rect(200, 100, 231, 117).Intersect(b), expected: -1},
	)
	ref := runRef(t, cases)
	t.Logf("reference: face-api %s, TF.js %s, forward on %s, gradients on %s", ref.FaceAPI, ref.TFJS, ref.Backend, ref.GradBackend)

	var worst struct{ input, prob, logit, qprob, camMap, weights, raw float64 }
	for i, c := range cases {
		r := ref.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			if d := maxAbsDiff(r.ProbsMirror, r.Probs); d > tolMirror {
				t.Fatalf("ref.js's mirror of face-api's net differs from faceExpressionNet.forward by %g", d)
			}
			refIn := nhwcToNCHW(t, r.Input, tfjs.FaceInputSize, tfjs.FaceInputSize, 3)

			// Preprocessing.
			x, err := imaging.ToTensor(c.img, c.crop, pre)
			if err != nil {
				t.Fatal(err)
			}
			dIn := maxAbsDiff(x.Data, refIn.Data)
			worst.input = max(worst.input, dIn)
			if dIn > tolInput {
				t.Errorf("input: ToTensor differs from face-api's normalised input by %g (crop %v)", dIn, c.crop)
			}

			// Forward, on face-api's own input tensor and on CamLens's.
			fs, err := fm.NewSession(refIn)
			if err != nil {
				t.Fatal(err)
			}
			logits := fs.Logits()
			probs := softmax(logits)
			dLogit, dProb := maxAbsDiff(logits, r.Logits), maxAbsDiff(probs, r.Probs)
			worst.logit, worst.prob = max(worst.logit, dLogit), max(worst.prob, dProb)
			own, err := fm.NewSession(x)
			if err != nil {
				t.Fatal(err)
			}
			dOwn := maxAbsDiff(softmax(own.Logits()), r.Probs)
			worst.prob = max(worst.prob, dOwn)
			qs, err := qm.NewSession(x)
			if err != nil {
				t.Fatal(err)
			}
			qprobs := softmax(qs.Logits())
			dQ := maxAbsDiff(qprobs, r.Probs)
			worst.qprob = max(worst.qprob, dQ)
			top, ftop, qtop := argmax(r.Probs), argmax(probs), argmax(qprobs)
			t.Logf("crop %v: face-api %s %.4f | float %s %.4f (max |Δp| %.2g, own input %.2g, max |Δlogit| %.2g) | int8 %s %.4f (max |Δp| %.2g) | input max |Δ| %.2g",
				c.crop, labels[top], r.Probs[top], labels[ftop], probs[ftop], dProb, dOwn, dLogit, labels[qtop], qprobs[qtop], dQ, dIn)
			if dLogit > tolLogit || dProb > tolProb || dOwn > tolProb {
				t.Errorf("float model: logits differ by %g (tol %g), probabilities by %g and %g (tol %g)", dLogit, tolLogit, dProb, dOwn, tolProb)
			}
			// The top-1 checks apply to the face crops of samples.json; on
			// the other crops the probability tolerance covers near-ties.
			if c.expected >= 0 {
				if ftop != top || qtop != top {
					t.Errorf("top-1: face-api %s, float %s, int8 %s", labels[top], labels[ftop], labels[qtop])
				}
				if top != c.expected {
					t.Errorf("samples.json expects %s, face-api predicts %s", labels[c.expected], labels[top])
				}
			}

			// Face detection: the default crop must be face-api's face.
			if c.Detect {
				checkCrop(t, c, r.Detections)
			}

			// Grad-CAM.
			for _, layer := range c.Layers {
				for _, k := range c.Classes {
					want, ok := r.Cams[layer][fmt.Sprint(k)]
					if !ok {
						t.Fatalf("no reference Grad-CAM for %s class %d", layer, k)
					}
					res, err := fs.Explain(context.Background(), cam.Request{Method: "gradcam", Class: k, Target: "logit", Layers: []string{layer}})
					if err != nil {
						t.Fatal(err)
					}
					if res.Raw == nil || res.Raw.Len() != want.H*want.W || len(res.Weights) != len(want.Weights) {
						t.Fatalf("%s: Grad-CAM raw map %v, %d weights; reference %d×%d, %d weights", layer, res.Raw, len(res.Weights), want.H, want.W, len(want.Weights))
					}
					dW := maxAbsDiff(res.Weights, want.Weights) / maxAbs(want.Weights)
					dR := maxAbsDiff(res.Raw.Data, want.Raw) / maxAbs(want.Raw)
					dM := maxAbsDiff(lowResMap(res.Raw.Data), want.Map)
					worst.weights, worst.raw, worst.camMap = max(worst.weights, dW), max(worst.raw, dR), max(worst.camMap, dM)
					t.Logf("Grad-CAM %s %s: weights max |Δ| %.2g of max %.2g (rel %.2g); signed map rel %.2g; ReLU+min-max map max |Δ| %.2g; peak (x,y) %v",
						layer, labels[k], dW*maxAbs(want.Weights), maxAbs(want.Weights), dW, dR, dM, res.Peak)
					if dW > tolWeights || dR > tolRaw || dM > tolCAMMap {
						t.Errorf("Grad-CAM %s %s: weights rel %g (tol %g), signed map rel %g (tol %g), map %g (tol %g)", layer, labels[k], dW, tolWeights, dR, tolRaw, dM, tolCAMMap)
					}
					if k == c.expected && layer == tfjs.FaceExpressionDefaultLayer {
						writeOverlay(t, c, res)
					}
				}
			}
		})
	}
	t.Logf("worst over all cases: input %.2g, probabilities %.2g, logits %.2g, int8 probabilities %.2g; Grad-CAM weights rel %.2g, signed map rel %.2g, map %.2g",
		worst.input, worst.prob, worst.logit, worst.qprob, worst.weights, worst.raw, worst.camMap)
}

// checkCrop compares the sample's default crop with face-api's detections
// on the whole image: the best one, made square (side = its larger side,
// same centre), must overlap the crop with IoU ≥ 0.8.
func checkCrop(t *testing.T, c *refCase, dets []refDetection) {
	t.Helper()
	s := c.sample
	crop := image.Rect(s.Crop[0], s.Crop[1], s.Crop[0]+s.Crop[2], s.Crop[1]+s.Crop[3])
	if len(dets) == 0 {
		t.Errorf("face-api finds no face in %s", s.File)
		return
	}
	best := slices.MaxFunc(dets, func(a, b refDetection) int {
		return cmpFloat(a.Score, b.Score)
	})
	side := math.Max(best.W, best.H)
	cx, cy := best.X+best.W/2, best.Y+best.H/2
	x0, y0, n := int(math.Round(cx-side/2)), int(math.Round(cy-side/2)), int(math.Round(side))
	sq := image.Rect(x0, y0, x0+n, y0+n)
	v := iou(sq, crop)
	t.Logf("face-api detection (score %.3f): box x %.1f y %.1f w %.1f h %.1f → square [%d, %d, %d, %d]; samples.json crop %v, IoU %.3f",
		best.Score, best.X, best.Y, best.W, best.H, x0, y0, n, n, s.Crop, v)
	if v < 0.8 {
		t.Errorf("%s: the default crop %v overlaps face-api's face only with IoU %.3f", s.File, s.Crop, v)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeOverlay writes the Grad-CAM map over the crop to FACETEST_OVERLAY_DIR.
func writeOverlay(t *testing.T, c *refCase, res *cam.Result) {
	dir := os.Getenv("FACETEST_OVERLAY_DIR")
	if dir == "" {
		return
	}
	cm, err := imaging.LookupColormap("jet")
	if err != nil {
		t.Fatal(err)
	}
	base := c.img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(c.crop)
	ov := imaging.Overlay(base, res.Map, res.W, res.H, cm, 0.5)
	name := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", filepath.Base(c.sample.File), res.Label, "dense3"))
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := imaging.EncodePNG(f, ov); err != nil {
		t.Fatal(err)
	}
	t.Logf("overlay written to %s", name)
}
