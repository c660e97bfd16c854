//go:build !js

package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// The architecture fixtures are generated in the test run by
// scripts/onnxtest/make_models.py (PyTorch) and run through onnxruntime-node
// by scripts/onnxtest/run_ort.js; both outputs are cached under the user
// cache directory, keyed by the scripts' hash.

var archNames = []string{"resnet18", "mobilenet_v2", "squeezenet1_1", "densenet_small", "efficientnet_b0", "shapechain", "shufflenet_v2",
	// micro models written with onnx.helper (no torch reference, no layers)
	"softmax_opset11", "attrs_opset9", "inputs_opset18", "windows_opset11", "shuffle_opset13", "qdq_weights_opset13"}

type archLayer struct {
	Module string    `json:"module"`
	Tensor string    `json:"tensor"`
	Shape  []int     `json:"shape"`
	Act    []float32 `json:"act"`
	Grad   []float32 `json:"grad"`
}

type archRef struct {
	Name       string      `json:"name"`
	Opset      int         `json:"opset"`
	Ops        []string    `json:"ops"`
	InputShape []int       `json:"input_shape"`
	Input      []float32   `json:"input"`
	Logits     []float32   `json:"logits"`
	Class      int         `json:"class"`
	Layers     []archLayer `json:"layers"`
}

type ortOut struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func scriptsDir(t *testing.T) string {
	d, err := filepath.Abs(filepath.Join("..", "..", "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// archFixtures returns the directory holding the generated models, making
// them when the cache has none for the current scripts.
func archFixtures(t *testing.T) string {
	t.Helper()
	scripts := scriptsDir(t)
	gen := filepath.Join(scripts, "onnxtest", "make_models.py")
	run := filepath.Join(scripts, "onnxtest", "run_ort.js")
	h := sha256.New()
	for _, f := range []string{gen, run} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	base := os.Getenv("CAMLENS_CACHE")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		base = filepath.Join(c, "camlens")
	}
	dir := filepath.Join(base, "onnxtest-"+key)
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir
	}
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch, torchvision, onnx").Run(); err != nil {
		skipOrFail(t, "PyTorch/torchvision/onnx for %s not available (Debian python3-torch, python3-torchvision, python3-onnx): %v", python, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skipOrFail(t, "node not available: %v", err)
	}
	if _, err := os.Stat(filepath.Join(scripts, "node", "node_modules", "onnxruntime-node")); err != nil {
		skipOrFail(t, "onnxruntime-node not installed in scripts/node (scripts/setup.d/20-npm.sh): %v", err)
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(base, "onnxtest-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(python, gen, tmp)
	cmd.Env = append(os.Environ(), "PYTHONWARNINGS=ignore")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", gen, err, out)
	} else {
		t.Logf("generated models:\n%s", out)
	}
	args := append([]string{run, tmp}, archNames...)
	if out, err := exec.Command("node", args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", run, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, "done")); err2 != nil {
			t.Fatalf("caching models: %v", err)
		}
	}
	// Drop the models of earlier script versions.
	old, _ := filepath.Glob(filepath.Join(base, "onnxtest-????????????????"))
	for _, o := range old {
		if o != dir {
			os.RemoveAll(o)
		}
	}
	return dir
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// relDiff is max|a−b| / max|b|.
func relDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for _, v := range b {
		m = math.Max(m, math.Abs(float64(v)))
	}
	if m == 0 {
		m = 1
	}
	return tensor.MaxAbsDiff(a, b) / m
}

func TestArchitectures(t *testing.T) {
	if testing.Short() {
		t.Skip("generates models with PyTorch; skipped in -short mode")
	}
	dir := archFixtures(t)
	for _, name := range archNames {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			var ref archRef
			readJSON(t, filepath.Join(dir, name+".json"), &ref)
			var ort ortOut
			readJSON(t, filepath.Join(dir, name+".ort.json"), &ort)
			m, err := Import(data)
			if err != nil {
				t.Fatal(err)
			}
			g, err := nn.Build(m.Graph, m.Weights)
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.FromData(ref.InputShape, ref.Input)
			if err != nil {
				t.Fatal(err)
			}
			var ctx nn.Context
			a, err := g.Forward(&ctx, x)
			if err != nil {
				t.Fatal(err)
			}
			logits := a.Output()
			if !sameInts(logits.Shape, ort.Shape) {
				t.Fatalf("logits shape %v, onnxruntime %v", logits.Shape, ort.Shape)
			}
			dOrt, dTorch := relDiff(logits.Data, ort.Data), relDiff(logits.Data, ref.Logits)
			torch := ""
			if len(ref.Logits) > 0 {
				torch = fmt.Sprintf(", vs torch %.2g", dTorch)
			}
			t.Logf("%s (opset %d, %d CamLens nodes from %v): logits rel. diff vs onnxruntime %.2g%s",
				name, ref.Opset, len(m.Graph.Nodes), ref.Ops, dOrt, torch)
			if dOrt > 1e-4 {
				t.Errorf("logits differ from onnxruntime by %.3g (relative), limit 1e-4\n got %v\nwant %v", dOrt, logits.Data, ort.Data)
			}
			if len(ref.Logits) > 0 && dTorch > 1e-4 {
				t.Errorf("logits differ from torch by %.3g (relative), limit 1e-4", dTorch)
			}
			checkBatchOfTwo(t, g, x, logits)
			if len(ref.Layers) == 0 {
				return
			}
			seed, err := nn.Logit{Class: ref.Class}.Seed(logits)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range ref.Layers {
				k, err := g.Index(l.Tensor)
				if err != nil {
					t.Errorf("layer %s: ONNX tensor %q: %v", l.Module, l.Tensor, err)
					continue
				}
				grads, err := g.Backward(&ctx, a, g.Output, seed, []int{k})
				if err != nil {
					t.Fatal(err)
				}
				act, grad := a.At(k), grads[k]
				if !sameInts(act.Shape, l.Shape) {
					t.Errorf("layer %s (%s): shape %v, torch %v", l.Module, l.Tensor, act.Shape, l.Shape)
					continue
				}
				dA, dG := relDiff(act.Data, l.Act), relDiff(grad.Data, l.Grad)
				t.Logf("  %-22s %-45s %v: activation rel. diff %.2g, gradient rel. diff %.2g", l.Module, l.Tensor, l.Shape, dA, dG)
				if dA > 1e-4 || dG > 1e-4 {
					t.Errorf("layer %s (%s): activation diff %.3g, gradient diff %.3g (relative), limit 1e-4", l.Module, l.Tensor, dA, dG)
				}
			}
		})
	}
}

// checkBatchOfTwo runs [x, x/2] as one batch: row 0 must equal the single
// run and row 1 the single run of x/2 (the import is batch-agnostic).
func checkBatchOfTwo(t *testing.T, g *nn.Graph, x, logits *tensor.Tensor) {
	t.Helper()
	half := x.Clone()
	for i := range half.Data {
		half.Data[i] /= 2
	}
	a2, err := g.Forward(nil, half)
	if err != nil {
		t.Fatal(err)
	}
	shape := append([]int{2}, x.Shape[1:]...)
	both, err := tensor.FromData(shape, append(append([]float32(nil), x.Data...), half.Data...))
	if err != nil {
		t.Fatal(err)
	}
	ab, err := g.Forward(nil, both)
	if err != nil {
		t.Fatalf("batch of 2: %v", err)
	}
	out := ab.Output()
	k := len(logits.Data)
	if len(out.Data) != 2*k {
		t.Fatalf("batch of 2: output shape %v, want 2×%v", out.Shape, logits.Shape[1:])
	}
	d := math.Max(relDiff(out.Data[:k], logits.Data), relDiff(out.Data[k:], a2.Output().Data))
	if d > 1e-5 {
		t.Errorf("batch of 2 differs from single runs by %.3g", d)
	}
}
