package onnx

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// onnxNodeTests is where Debian's libonnx-testdata installs the official
// ONNX backend node tests.
const onnxNodeTests = "/usr/share/libonnx-testdata/data/node"

// conformanceSkips lists the node tests that use only supported ops but are
// not run, each with the reason. Every other such test must pass, and every
// test listed here must still fail (so the list cannot go stale).
var conformanceSkips = map[string]string{
	"test_add_uint8":                                  "integer input (CamLens computes in float32)",
	"test_sub_uint8":                                  "integer input (CamLens computes in float32)",
	"test_mul_uint8":                                  "integer input (CamLens computes in float32)",
	"test_div_uint8":                                  "integer input (CamLens computes in float32)",
	"test_clip_default_int8_inbounds":                 "integer input (CamLens computes in float32)",
	"test_clip_default_int8_max":                      "integer input (CamLens computes in float32)",
	"test_clip_default_int8_min":                      "integer input (CamLens computes in float32)",
	"test_maxpool_2d_uint8":                           "integer input (CamLens computes in float32)",
	"test_edge_pad":                                   "integer input, and edge padding (only constant padding is supported)",
	"test_reflect_pad":                                "integer input, and reflect padding (only constant padding is supported)",
	"test_dequantizelinear":                           "integer (uint8) graph input: DequantizeLinear is folded on constant weights only",
	"test_dequantizelinear_axis":                      "integer (uint8) graph input: DequantizeLinear is folded on constant weights only",
	"test_quantizelinear":                             "integer output: quantized activations are not supported (Q→DQ pairs become identities)",
	"test_quantizelinear_axis":                        "integer output: quantized activations are not supported (Q→DQ pairs become identities)",
	"test_cast_BFLOAT16_to_FLOAT":                     "BFLOAT16 input (CamLens inputs are float32)",
	"test_cast_DOUBLE_to_FLOAT":                       "DOUBLE input (CamLens inputs are float32)",
	"test_cast_DOUBLE_to_FLOAT16":                     "DOUBLE input and FLOAT16 output",
	"test_cast_FLOAT16_to_DOUBLE":                     "FLOAT16 input (CamLens inputs are float32)",
	"test_cast_FLOAT16_to_FLOAT":                      "FLOAT16 input (CamLens inputs are float32)",
	"test_cast_FLOAT_to_BFLOAT16":                     "rounds activations to BFLOAT16 (CamLens keeps float32)",
	"test_cast_FLOAT_to_FLOAT16":                      "rounds activations to FLOAT16 (CamLens keeps float32)",
	"test_cast_FLOAT_to_STRING":                       "STRING tensors",
	"test_cast_STRING_to_FLOAT":                       "STRING tensors",
	"test_castlike_BFLOAT16_to_FLOAT_expanded":        "BFLOAT16 input (CamLens inputs are float32)",
	"test_castlike_DOUBLE_to_FLOAT_expanded":          "DOUBLE input (CamLens inputs are float32)",
	"test_castlike_DOUBLE_to_FLOAT16_expanded":        "DOUBLE input and FLOAT16 output",
	"test_castlike_FLOAT16_to_DOUBLE_expanded":        "FLOAT16 input (CamLens inputs are float32)",
	"test_castlike_FLOAT16_to_FLOAT_expanded":         "FLOAT16 input (CamLens inputs are float32)",
	"test_castlike_FLOAT_to_BFLOAT16_expanded":        "rounds activations to BFLOAT16 (CamLens keeps float32)",
	"test_castlike_FLOAT_to_FLOAT16_expanded":         "rounds activations to FLOAT16 (CamLens keeps float32)",
	"test_castlike_FLOAT_to_STRING_expanded":          "STRING tensors",
	"test_castlike_STRING_to_FLOAT_expanded":          "STRING tensors",
	"test_identity_opt":                               "optional type (CamLens has tensors only)",
	"test_identity_sequence":                          "sequence type (CamLens has tensors only)",
	"test_constant":                                   "no graph input (the whole graph is a constant; CamLens models take one image input)",
	"test_constantofshape_float_ones":                 "integer (shape) input; ConstantOfShape is folded on constant shapes only",
	"test_constantofshape_int_shape_zero":             "integer (shape) input; ConstantOfShape is folded on constant shapes only",
	"test_constantofshape_int_zeros":                  "integer (shape) input; ConstantOfShape is folded on constant shapes only",
	"test_averagepool_1d_default":                     "1-D pooling (CamLens pools are 2-D)",
	"test_averagepool_3d_default":                     "3-D pooling (CamLens pools are 2-D)",
	"test_maxpool_1d_default":                         "1-D pooling (CamLens pools are 2-D)",
	"test_maxpool_3d_default":                         "3-D pooling (CamLens pools are 2-D)",
	"test_reshape_allowzero_reordered":                "empty tensor (a zero dimension)",
	"test_split_zero_size_splits":                     "empty outputs (zero-size splits)",
	"test_slice_start_out_of_bounds":                  "empty result (CamLens tensors have no zero dimensions)",
	"test_slice_neg_steps":                            "negative step on a computed tensor (no reverse op; steps other than 1 fold on constants only)",
	"test_matmul_3d":                                  "batched MatMul with a different matrix per batch item (only x·W with one constant matrix W)",
	"test_matmul_4d":                                  "batched MatMul with a different matrix per batch item (only x·W with one constant matrix W)",
	"test_batchnorm_epsilon_training_mode":            "training-mode BatchNormalization (batch statistics and running-mean outputs)",
	"test_batchnorm_example_training_mode":            "training-mode BatchNormalization (batch statistics and running-mean outputs)",
	"test_dropout_default_mask":                       "mask output",
	"test_dropout_default_mask_ratio":                 "mask output",
	"test_training_dropout":                           "training-mode dropout is random",
	"test_training_dropout_default":                   "training-mode dropout is random",
	"test_training_dropout_default_mask":              "training-mode dropout is random; mask output",
	"test_training_dropout_mask":                      "training-mode dropout is random; mask output",
	"test_training_dropout_zero_ratio_mask":           "mask output",
	"test_maxpool_with_argmax_2d_precomputed_pads":    "Indices output of MaxPool",
	"test_maxpool_with_argmax_2d_precomputed_strides": "Indices output of MaxPool",
}

// requireDeps reports whether missing references must fail the test.
func requireDeps() bool { return os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" }

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if requireDeps() {
		t.Fatalf(format+" (CAMLENS_REQUIRE_DEPS=1)", args...)
	}
	t.Skipf(format, args...)
}

func readTensorPB(path string) (*value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &decoder{lim: DefaultLimits}
	tp, err := d.tensor(b)
	if err != nil {
		return nil, err
	}
	return toValue(tp)
}

type nodeTestResult struct {
	ops    []string
	err    error // nil: passed
	detail string
}

// runNodeTest imports and runs one ONNX node test and compares its first
// output.
func runNodeTest(dir string) nodeTestResult {
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nodeTestResult{err: err}
	}
	mp, err := decodeModel(data, DefaultLimits)
	if err != nil {
		return nodeTestResult{err: err}
	}
	var res nodeTestResult
	seen := map[string]bool{}
	for _, n := range mp.Graph.Nodes {
		if !seen[n.OpType] {
			seen[n.OpType] = true
			res.ops = append(res.ops, n.OpType)
		}
	}
	sort.Strings(res.ops)
	for _, op := range res.ops {
		if _, ok := handlers[op]; !ok {
			res.ops = nil // not a test of supported ops only
			return res
		}
	}
	set := filepath.Join(dir, "test_data_set_0")
	inits := map[string]bool{}
	for _, t := range mp.Graph.Initializers {
		inits[t.Name] = true
	}
	consts := map[string]*value{}
	var x *value
	k := 0
	for _, in := range mp.Graph.Inputs {
		if inits[in.Name] {
			continue
		}
		v, err := readTensorPB(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
		k++
		if err != nil {
			res.err = fmt.Errorf("reading input %q: %w", in.Name, err)
			return res
		}
		if k == 1 { // the first input is the data; the others become constants
			if v.DType != dtFloat {
				res.err = fmt.Errorf("input %q is %s", in.Name, dtypeName(v.DType))
				return res
			}
			x = v
			continue
		}
		consts[in.Name] = v
	}
	if x == nil {
		res.err = errors.New("the graph has no inputs")
		return res
	}
	want, err := readTensorPB(filepath.Join(set, "output_0.pb"))
	if err != nil {
		res.err = fmt.Errorf("reading output: %w", err)
		return res
	}
	opt := Options{consts: consts, InputShape: x.Shape}
	m, err := ImportWith(data, opt)
	whole := false
	if err != nil {
		opt.WholeInput = true
		m2, err2 := ImportWith(data, opt)
		if err2 != nil {
			res.err = fmt.Errorf("%w; with WholeInput: %v", err, err2)
			return res
		}
		m, whole = m2, true
	}
	g, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		res.err = err
		return res
	}
	in := &tensor.Tensor{Shape: x.Shape, Data: x.F}
	if whole {
		in = &tensor.Tensor{Shape: append([]int{1}, x.Shape...), Data: x.F}
	}
	a, err := g.Forward(nil, in)
	if err != nil {
		res.err = err
		return res
	}
	got := a.Output()
	if !sameInts(got.Shape, want.Shape) {
		res.err = fmt.Errorf("output shape %v, want %v", got.Shape, want.Shape)
		return res
	}
	wf := want.Floats()
	worst := 0.0
	for i, v := range wf {
		d := math.Abs(float64(got.Data[i]) - float64(v))
		if d > 1e-4+1e-4*math.Abs(float64(v)) || math.IsNaN(float64(got.Data[i])) {
			res.err = fmt.Errorf("output[%d] = %g, want %g", i, got.Data[i], v)
			return res
		}
		worst = max(worst, d)
	}
	mode := "batch"
	if whole {
		mode = "whole"
	}
	res.detail = fmt.Sprintf("%s mode, max abs diff %.2g", mode, worst)
	return res
}

func TestONNXConformance(t *testing.T) {
	entries, err := os.ReadDir(onnxNodeTests)
	if err != nil {
		skipOrFail(t, "ONNX node tests not installed (Debian package libonnx-testdata): %v", err)
	}
	type count struct{ pass, skip, total int }
	perOp := map[string]*count{}
	for _, op := range SupportedOps() {
		perOp[op] = &count{}
	}
	ran := map[string]bool{} // test → passed
	for _, e := range entries {
		name := e.Name()
		r := runNodeTest(filepath.Join(onnxNodeTests, name))
		if r.ops == nil {
			continue
		}
		ran[name] = r.err == nil
		reason, skipped := conformanceSkips[name]
		for _, op := range r.ops {
			c := perOp[op]
			c.total++
			switch {
			case r.err == nil && !skipped:
				c.pass++
			case skipped:
				c.skip++
			}
		}
		switch {
		case r.err == nil && skipped:
			t.Errorf("%s passes but is listed as skipped (%s): remove it from conformanceSkips", name, reason)
		case r.err == nil:
			t.Logf("PASS %-55s %s", name, r.detail)
		case skipped:
			t.Logf("SKIP %-55s %s [%v]", name, reason, r.err)
		default:
			t.Errorf("FAIL %s (%s): %v", name, strings.Join(r.ops, ","), r.err)
		}
	}
	for name := range conformanceSkips {
		if _, ok := ran[name]; !ok {
			t.Errorf("conformanceSkips lists %s, which is not a test of supported ops", name)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s %7s %7s %7s\n", "op", "passed", "skipped", "total")
	tp, ts, tt := 0, 0, 0
	for _, op := range SupportedOps() {
		c := perOp[op]
		fmt.Fprintf(&b, "%-20s %7d %7d %7d\n", op, c.pass, c.skip, c.total)
	}
	for name, passed := range ran {
		tt++
		if _, s := conformanceSkips[name]; s {
			ts++
		} else if passed {
			tp++
		}
	}
	fmt.Fprintf(&b, "%-20s %7d %7d %7d (tests; a test with several ops counts once per op above; failed: %d)\n", "all tests", tp, ts, tt, tt-tp-ts)
	t.Log(b.String())
}
