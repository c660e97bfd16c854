// Command evaluate measures how well CamLens's explanation methods tell the
// truth about a model on a data set with ground-truth boxes: the clutter
// model on the held-out clutter split (MNIST t10k digits pasted among
// clutter, scripts/train/gendata's test split: 2000 images, seed 2).
//
//	go run ./scripts/evaluate -model models/clutter.safetensors -method all [-data DIR] [-n N] [-json FILE]
//
// For each image it explains the ground-truth class with every method,
// and measures each map as core/metrics does: the pointing game (the map's
// peak inside the ground-truth box), the localisation box (cam.Box: 15 % of
// the maximum, largest connected region) with IoU ≥ 0.5 against the
// ground truth, and RISE's deletion and insertion AUC of the class's
// softmax probability. Two baselines go through the same pipeline: a
// uniformly random map and a centre Gaussian (metrics.RandomMap,
// metrics.CenterMap). The table goes to stdout, progress to stderr; -json
// writes
//
//	{"<method>": {"pointing_game": …, "box_iou50": …, "deletion_auc": …,
//	 "insertion_auc": …, "mean_iou": …, "n": …}, "random": {…}, "center": {…}}
//
// With -extra each entry adds the confidence change when only the map's top
// 10 % is kept, the CAM-multiplied confidence change and ROAD (MoRF, LeRF,
// combined); ROAD makes the run several times slower.
//
// -method all is every method of cam.Methods except "counterfactual" (it
// explains what speaks against the class); a method that cannot explain
// the model (CAM without a global-pool + dense head) is left out with a
// note. A .onnx model is imported with core/onnx and the clutter
// preprocessing of scripts/train/train.py (grayscale, (x/255 − 0.1307) /
// 0.3081). Ctrl-C stops the run; the table then covers the images done.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/dataset"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/metrics"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/onnx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// defaultSteps is the deletion/insertion resolution: 25 steps of 4 % of
// the pixels (368 of a 96×96 image) keep the full split to about 900
// forward passes an image for all methods and baselines.
const defaultSteps = 25

// maxModelBytes bounds a model file.
const maxModelBytes = 512 << 20

type options struct {
	model, methods, data, jsonOut, layer, fill string
	n, steps, workers, tolerance, sanity       int
	boxThreshold                               float64
	extra                                      bool
}

// run is the command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.model, "model", "", "CamLens model file (.safetensors) or .onnx trained by scripts/train/train.py --model clutter")
	fs.StringVar(&o.methods, "method", "all", "methods to evaluate: all, or a comma-separated list of cam method names")
	fs.StringVar(&o.data, "data", "", "directory with scripts/train/gendata's clutter-test-{images,labels}.idx and clutter-test-boxes.u16 (default: regenerate the split with core/dataset)")
	fs.IntVar(&o.n, "n", 0, "evaluate the first N images only (default: all)")
	fs.IntVar(&o.steps, "steps", defaultSteps, "deletion/insertion steps (curves of steps+1 points)")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "images evaluated in parallel")
	fs.IntVar(&o.tolerance, "tolerance", 0, "pointing-game tolerance in pixels")
	fs.Float64Var(&o.boxThreshold, "box-threshold", cam.BoxThreshold, "localisation box: fraction of the map's maximum (the Grad-CAM paper's 0.15 up to 1)")
	fs.StringVar(&o.layer, "layer", "", "target layer (default: the model's default layer)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&o.extra, "extra", false, "also measure the confidence change and ROAD (slow)")
	fs.StringVar(&o.fill, "fill", "zero", "what deletion puts in place of a pixel: zero (RISE: 0 in the normalised input, the dataset mean) or black")
	fs.IntVar(&o.sanity, "sanity", 0, "also run the cascading-randomisation sanity check on the first N images")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: evaluate -model M [-method all|m1,m2] [-data DIR] [-n N] [-json FILE] [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "evaluate: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if !(o.boxThreshold >= cam.BoxThreshold && o.boxThreshold <= 1) {
		fmt.Fprintf(stderr, "evaluate: -box-threshold %v: want %v to 1\n", o.boxThreshold, cam.BoxThreshold)
		return 2
	}
	if o.fill != "zero" && o.fill != "black" {
		fmt.Fprintf(stderr, "evaluate: -fill %q: want zero or black\n", o.fill)
		return 2
	}
	if o.model == "" {
		fmt.Fprintln(stderr, "evaluate: -model is required")
		fs.Usage()
		return 2
	}
	if o.n < 0 || o.steps < 1 || o.workers < 1 || o.tolerance < 0 || o.sanity < 0 {
		fmt.Fprintln(stderr, "evaluate: -n, -tolerance, -sanity must be ≥ 0 and -steps, -workers ≥ 1")
		return 2
	}
	mf, model, err := loadModel(o.model)
	if err != nil {
		fmt.Fprintf(stderr, "evaluate: %v\n", err)
		return 1
	}
	methods, err := parseMethods(o.methods)
	if err != nil {
		fmt.Fprintf(stderr, "evaluate: %v\n", err)
		return 2
	}
	var set *dataset.Set
	source := fmt.Sprintf("clutter test split regenerated (MNIST t10k, %d images, seed %d)", clutterTest, clutterTestSeed)
	if o.data == "" {
		set, err = clutterSplit()
	} else {
		set, err = readSplit(o.data)
		source = "clutter test split from " + o.data
	}
	if err != nil {
		fmt.Fprintf(stderr, "evaluate: data: %v\n", err)
		return 1
	}
	if o.n > 0 && o.n < set.Len() {
		set.Images, set.Labels, set.Boxes = set.Images[:o.n], set.Labels[:o.n], set.Boxes[:o.n]
	}
	ev, err := newEvaluator(ctx, model, set, methods, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "evaluate: %v\n", err)
		return 1
	}
	res, runErr := ev.run(ctx)
	if res.images == 0 {
		fmt.Fprintf(stderr, "evaluate: %v\n", runErr)
		return 1
	}
	fmt.Fprintf(stdout, "Model %s (%s), %s; %d images evaluated, top-1 accuracy %.1f%%.\n",
		model.Meta().Name, filepath.Base(o.model), source, res.images, 100*float64(res.correct)/float64(res.images))
	fmt.Fprintf(stdout, "Each map explains the ground-truth class (logit target, layer %s); deletion/insertion: %d steps, softmax probability, %s / blurred substrate; pointing tolerance %d px; box at %.2f of the map's maximum.\n\n",
		ev.layerName(), o.steps, o.fill, o.tolerance, o.boxThreshold)
	writeTable(stdout, res, o.extra)
	if runErr == nil && o.sanity > 0 {
		if res.sanity, runErr = ev.sanityCheck(ctx, mf); runErr == nil {
			writeSanity(stdout, res, ev)
		}
	}
	if o.jsonOut != "" {
		if err := writeJSON(o.jsonOut, res, o.extra); err != nil {
			fmt.Fprintf(stderr, "evaluate: %v\n", err)
			return 1
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "evaluate: stopped after %d of %d images: %v\n", res.images, set.Len(), runErr)
		return 1
	}
	return 0
}

// clutterPreprocess is scripts/train/train.py's clutter input: 96×96
// grayscale, (x/255 − 0.1307)/0.3081.
var clutterPreprocess = modelfile.Preprocess{Width: 96, Height: 96, Channels: "L", Fit: "stretch", Resize: "bilinear",
	Scale: 1.0 / 255, Mean: []float32{0.1307}, Std: []float32{0.3081}}

func loadModel(path string) (*modelfile.Model, *cam.Model, error) {
	var m *modelfile.Model
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		data, err := readLimited(path, maxModelBytes)
		if err != nil {
			return nil, nil, err
		}
		p := clutterPreprocess
		labels := make([]string, 10)
		for i := range labels {
			labels[i] = strconv.Itoa(i)
		}
		if m, err = onnx.ImportWith(data, onnx.Options{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), Preprocess: &p, Labels: labels}); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		var err error
		if m, err = modelfile.Load(path); err != nil {
			return nil, nil, err
		}
	}
	cm, err := cam.NewModel(m)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, cm, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// parseMethods resolves -method.
func parseMethods(s string) ([]cam.MethodInfo, error) {
	all := cam.Methods()
	if s == "all" {
		var out []cam.MethodInfo
		for _, m := range all {
			if m.Name != "counterfactual" {
				out = append(out, m)
			}
		}
		return out, nil
	}
	var out []cam.MethodInfo
	seen := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, m := range all {
			if m.Name == name {
				if !seen[name] {
					out = append(out, m)
				}
				seen[name], found = true, true
			}
		}
		if !found {
			names := make([]string, len(all))
			for i, m := range all {
				names[i] = m.Name
			}
			return nil, fmt.Errorf("-method: unknown method %q (all, or some of %s)", name, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// entry is one row of the table: a method or a baseline.
type entry struct {
	key, title string
	method     string // cam method, "" for a baseline
}

// score is one map's metrics on one image.
type score struct {
	pointing         bool
	iou              float64
	del, ins         float64
	keepDrop         float64 // top 10 % kept
	multDrop         float64
	multIncrease     bool
	morf, lerf, road float64
}

// results aggregates the images evaluated.
type results struct {
	entries []entry
	images  int
	correct int
	sums    [][]score      // per entry, per image done
	sanity  [][]sanityStep // per method entry (nil for baselines): mean ρ per randomised layer
}

// sanityStep is the mean rank correlation after randomising the learned
// layers from the top down to Layer.
type sanityStep struct {
	Layer    string  `json:"layer"`
	Spearman float64 `json:"spearman"`
}

type evaluator struct {
	model   *cam.Model
	set     *dataset.Set
	entries []entry
	o       options
	stderr  io.Writer
	pre     modelfile.Preprocess
	fill    []float32 // deletion substrate per channel; nil: zeros
}

func newEvaluator(ctx context.Context, model *cam.Model, set *dataset.Set, methods []cam.MethodInfo, o options, stderr io.Writer) (*evaluator, error) {
	if set.Len() == 0 {
		return nil, errors.New("no images")
	}
	pre := model.Meta().Preprocess
	if pre.Width != set.Cols || pre.Height != set.Rows {
		return nil, fmt.Errorf("model %q takes %d×%d images, the data is %d×%d", model.Meta().Name, pre.Width, pre.Height, set.Cols, set.Rows)
	}
	k := model.NumClasses()
	for i, l := range set.Labels {
		if l < 0 || l >= k {
			return nil, fmt.Errorf("image %d has label %d; the model has %d classes", i, l, k)
		}
	}
	ev := &evaluator{model: model, set: set, o: o, stderr: stderr, pre: pre}
	if o.fill == "black" {
		x, err := imaging.ToTensor(image.NewGray(image.Rect(0, 0, set.Cols, set.Rows)), image.Rectangle{}, pre)
		if err != nil {
			return nil, err
		}
		c := x.Shape[1]
		ev.fill = make([]float32, c)
		for ch := range c {
			ev.fill[ch] = x.Data[ch*set.Rows*set.Cols] // a black pixel, preprocessed
		}
	}
	// Try every method on the first image; leave out those that cannot
	// explain this model.
	s, err := ev.session(0)
	if err != nil {
		return nil, err
	}
	for _, m := range methods {
		if _, err := s.Explain(ctx, ev.request(m.Name, set.Labels[0])); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			fmt.Fprintf(stderr, "evaluate: leaving out %s: %v\n", m.Name, err)
			continue
		}
		ev.entries = append(ev.entries, entry{key: m.Name, title: m.Title, method: m.Name})
	}
	ev.entries = append(ev.entries,
		entry{key: "random", title: "Random map (baseline)"},
		entry{key: "center", title: "Centre Gaussian (baseline)"})
	return ev, nil
}

func (ev *evaluator) layerName() string {
	if ev.o.layer != "" {
		return ev.o.layer
	}
	return ev.model.DefaultLayer()
}

func (ev *evaluator) request(method string, class int) cam.Request {
	r := cam.Request{Method: method, Class: class}
	if ev.o.layer != "" {
		r.Layers = []string{ev.o.layer}
	}
	return r
}

// session preprocesses image i and runs the forward pass.
func (ev *evaluator) session(i int) (*cam.Session, error) {
	img := &image.Gray{Pix: ev.set.Images[i], Stride: ev.set.Cols, Rect: image.Rect(0, 0, ev.set.Cols, ev.set.Rows)}
	x, err := imaging.ToTensor(img, image.Rectangle{}, ev.pre)
	if err != nil {
		return nil, fmt.Errorf("image %d: %w", i, err)
	}
	s, err := ev.model.NewSession(x)
	if err != nil {
		return nil, fmt.Errorf("image %d: %w", i, err)
	}
	return s, nil
}

// image evaluates every entry on image i.
func (ev *evaluator) image(ctx context.Context, i int) ([]score, bool, error) {
	s, err := ev.session(i)
	if err != nil {
		return nil, false, err
	}
	class := ev.set.Labels[i]
	correct := s.Predictions(1)[0].Class == class
	b := ev.set.Boxes[i]
	opt := metrics.EvalOptions{
		Options:      metrics.Options{Steps: ev.o.steps, Seed: uint64(i), Fill: ev.fill},
		GroundTruth:  image.Rect(b.X0, b.Y0, b.X1, b.Y1),
		Tolerance:    ev.o.tolerance,
		BoxThreshold: ev.o.boxThreshold,
		Confidence:   ev.o.extra,
		ROAD:         ev.o.extra,
	}
	in := s.Input()
	w, h := in.Shape[3], in.Shape[2]
	out := make([]score, len(ev.entries))
	for j, e := range ev.entries {
		var m []float32
		switch {
		case e.method != "":
			res, err := s.Explain(ctx, ev.request(e.method, class))
			if err != nil {
				return nil, false, fmt.Errorf("image %d: %s: %w", i, e.method, err)
			}
			m = res.Map
		case e.key == "random":
			m = metrics.RandomMap(w, h, uint64(i))
		default:
			m = metrics.CenterMap(w, h)
		}
		r, err := metrics.Evaluate(ctx, s, m, class, opt)
		if err != nil {
			return nil, false, fmt.Errorf("image %d: %s: %w", i, e.key, err)
		}
		sc := score{pointing: *r.Pointing, iou: *r.IoU, del: r.Deletion.AUC, ins: r.Insertion.AUC}
		if ev.o.extra {
			sc.keepDrop = r.KeepTop[0].Drop
			sc.multDrop, sc.multIncrease = r.CAMMult.Drop, r.CAMMult.Increase
			sc.morf, sc.lerf, sc.road = r.ROAD.MoRF.Mean, r.ROAD.LeRF.Mean, r.ROAD.Combined
		}
		out[j] = sc
	}
	return out, correct, nil
}

// run evaluates the images with o.workers goroutines. Results are kept per
// image and summed in image order, so they do not depend on the number of
// workers. On an error or cancellation it returns what was done.
func (ev *evaluator) run(ctx context.Context) (*results, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := ev.set.Len()
	per := make([][]score, n)
	correct := make([]bool, n)
	var next, done atomic.Int64
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	var lastReport atomic.Int64
	report := func(final bool) {
		d := done.Load()
		now := time.Since(start)
		if !final && now.Milliseconds()-lastReport.Load() < 1000 {
			return
		}
		lastReport.Store(now.Milliseconds())
		eta := ""
		if d > 0 && d < int64(n) {
			eta = fmt.Sprintf(", about %s left", (time.Duration(float64(now) / float64(d) * float64(int64(n)-d))).Round(time.Second))
		}
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(ev.stderr, "\revaluate: %d/%d images, %s%s   %s", d, n, now.Round(time.Second), eta, end)
	}
	var wg sync.WaitGroup
	for range min(ev.o.workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				sc, ok, err := ev.image(ctx, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				per[i], correct[i] = sc, ok
				done.Add(1)
				mu.Lock()
				report(false)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	report(true)
	res := &results{entries: ev.entries, sums: make([][]score, len(ev.entries))}
	for i := range n {
		if per[i] == nil {
			continue
		}
		res.images++
		if correct[i] {
			res.correct++
		}
		for j := range ev.entries {
			res.sums[j] = append(res.sums[j], per[i][j])
		}
	}
	if firstErr == nil && ctx.Err() != nil && res.images < n {
		firstErr = context.Cause(ctx)
	}
	return res, firstErr
}

// summary is one entry's means over the images.
type summary struct {
	Pointing     float64 `json:"pointing_game"`
	BoxIoU50     float64 `json:"box_iou50"`
	DeletionAUC  float64 `json:"deletion_auc"`
	InsertionAUC float64 `json:"insertion_auc"`
	MeanIoU      float64 `json:"mean_iou"`
	N            int     `json:"n"`
	// With -sanity: mean Spearman ρ with the original map after randomising
	// the learned layers from the output down to each layer.
	Sanity []sanityStep `json:"sanity,omitempty"`
	// With -extra.
	KeepTop10Drop   *float64 `json:"keep_top10_drop,omitempty"`
	CAMMultDrop     *float64 `json:"cam_mult_drop,omitempty"`
	CAMMultIncrease *float64 `json:"cam_mult_increase,omitempty"`
	ROADMoRF        *float64 `json:"road_morf,omitempty"`
	ROADLeRF        *float64 `json:"road_lerf,omitempty"`
	ROADCombined    *float64 `json:"road_combined,omitempty"`
}

func summarise(ss []score, extra bool) summary {
	var s summary
	s.N = len(ss)
	if s.N == 0 {
		return s
	}
	var keep, mult, inc, morf, lerf, road float64
	for _, v := range ss {
		if v.pointing {
			s.Pointing++
		}
		if v.iou >= 0.5 {
			s.BoxIoU50++
		}
		s.MeanIoU += v.iou
		s.DeletionAUC += v.del
		s.InsertionAUC += v.ins
		keep += v.keepDrop
		mult += v.multDrop
		if v.multIncrease {
			inc++
		}
		morf += v.morf
		lerf += v.lerf
		road += v.road
	}
	n := float64(s.N)
	s.Pointing /= n
	s.BoxIoU50 /= n
	s.MeanIoU /= n
	s.DeletionAUC /= n
	s.InsertionAUC /= n
	if extra {
		for _, p := range []struct {
			dst **float64
			v   float64
		}{{&s.KeepTop10Drop, keep}, {&s.CAMMultDrop, mult}, {&s.CAMMultIncrease, inc}, {&s.ROADMoRF, morf}, {&s.ROADLeRF, lerf}, {&s.ROADCombined, road}} {
			v := p.v / n
			*p.dst = &v
		}
	}
	return s
}

func writeTable(w io.Writer, r *results, extra bool) {
	head := "| Method | Pointing game ↑ | Box IoU ≥ 0.5 ↑ | Mean IoU ↑ | Deletion AUC ↓ | Insertion AUC ↑ |"
	rule := "|---|---:|---:|---:|---:|---:|"
	if extra {
		head += " Top-10% drop ↓ | CAM×image drop ↓ | ROAD MoRF ↓ | ROAD LeRF ↑ | ROAD combined ↑ |"
		rule += "---:|---:|---:|---:|---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for j, e := range r.entries {
		s := summarise(r.sums[j], extra)
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f |", e.title, s.Pointing, s.BoxIoU50, s.MeanIoU, s.DeletionAUC, s.InsertionAUC)
		if extra {
			fmt.Fprintf(w, " %.3f | %.3f | %.3f | %.3f | %+.3f |", *s.KeepTop10Drop, *s.CAMMultDrop, *s.ROADMoRF, *s.ROADLeRF, *s.ROADCombined)
		}
		fmt.Fprintln(w)
	}
}

func writeJSON(path string, r *results, extra bool) error {
	out := make(map[string]summary, len(r.entries))
	for j, e := range r.entries {
		s := summarise(r.sums[j], extra)
		for _, v := range []float64{s.Pointing, s.DeletionAUC, s.InsertionAUC} {
			if math.IsNaN(v) {
				return fmt.Errorf("%s: NaN in the results", e.key)
			}
		}
		if r.sanity != nil {
			s.Sanity = r.sanity[j]
		}
		out[e.key] = s
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	return nil
}

// sanityCheck runs metrics.SanityCheck for every method on the first
// o.sanity images (the ground-truth class, seed = image index) and returns
// the mean ρ per randomised layer.
func (ev *evaluator) sanityCheck(ctx context.Context, mf *modelfile.Model) ([][]sanityStep, error) {
	k := min(ev.o.sanity, ev.set.Len())
	out := make([][]sanityStep, len(ev.entries))
	total, done := 0, 0
	for _, e := range ev.entries {
		if e.method != "" {
			total += k
		}
	}
	for j, e := range ev.entries {
		if e.method == "" {
			continue
		}
		for i := range k {
			s, err := ev.session(i)
			if err != nil {
				return nil, err
			}
			r, err := metrics.SanityCheck(ctx, mf, s.Input(), ev.set.Labels[i], metrics.CAMExplainer(ev.request(e.method, 0)), metrics.SanityOptions{Seed: uint64(i)})
			if err != nil {
				return nil, fmt.Errorf("sanity check: image %d: %s: %w", i, e.method, err)
			}
			if out[j] == nil {
				out[j] = make([]sanityStep, len(r.Steps))
				for l, st := range r.Steps {
					out[j][l].Layer = st.Layer
				}
			}
			for l, st := range r.Steps {
				out[j][l].Spearman += st.Spearman / float64(k)
			}
			done++
			fmt.Fprintf(ev.stderr, "\revaluate: sanity check %d/%d   ", done, total)
		}
	}
	fmt.Fprintln(ev.stderr)
	return out, nil
}

func writeSanity(w io.Writer, r *results, ev *evaluator) {
	var layers []string
	for _, s := range r.sanity {
		if s != nil {
			for _, st := range s {
				layers = append(layers, st.Layer)
			}
			break
		}
	}
	if layers == nil {
		return
	}
	fmt.Fprintf(w, "\nSanity check (Adebayo et al. 2018, cascading randomisation, %d images): mean Spearman ρ between the map and the map after randomising the learned layers from the output down to each layer (near 1: the map ignores the model).\n\n", min(ev.o.sanity, ev.set.Len()))
	fmt.Fprintf(w, "| Method | %s |\n|---|%s\n", strings.Join(layers, " | "), strings.Repeat("---:|", len(layers)))
	for j, e := range r.entries {
		if r.sanity[j] == nil {
			continue
		}
		fmt.Fprintf(w, "| %s |", e.title)
		for _, st := range r.sanity[j] {
			fmt.Fprintf(w, " %.3f |", st.Spearman)
		}
		fmt.Fprintln(w)
	}
}
