package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// Benchmarks of the heavy ops through GoKernels, reporting GFLOP/s (one
// multiply-add = 2 FLOP; backward-to-input does as many FLOPs as forward).
// Run natively with `go test -run XXX -bench . ./core/nn` and as js/wasm
// with GOOS=js GOARCH=wasm and -exec=$(go env GOROOT)/lib/wasm/go_js_wasm_exec.

type benchOp struct {
	op    Op
	x, y  *tensor.Tensor
	flops float64
}

func newBenchOp(b testing.TB, spec NodeSpec, params map[string]*tensor.Tensor, xshape ...int) benchOp {
	rng := rand.New(rand.NewPCG(1, 2))
	op := buildOp(b, spec, params)
	x := randTensor(rng, 0, xshape...)
	shape, err := op.OutShape([][]int{x.Shape})
	if err != nil {
		b.Fatal(err)
	}
	bo := benchOp{op: op, x: x, y: tensor.New(shape...)}
	switch o := op.(type) {
	case *convOp:
		bo.flops = 2 * float64(len(bo.y.Data)) * float64(o.cg*o.kh*o.kw)
	case *denseOp:
		bo.flops = 2 * float64(len(bo.y.Data)) * float64(o.in)
	}
	return bo
}

func (bo benchOp) run(b *testing.B, backward bool) {
	ctx := &Context{}
	in := []*tensor.Tensor{bo.x}
	bo.op.Forward(ctx, in, bo.y)
	gx := []*tensor.Tensor{tensor.New(bo.x.Shape...)}
	b.ResetTimer()
	for range b.N {
		if backward {
			bo.op.Backward(ctx, in, bo.y, bo.y, gx)
		} else {
			bo.op.Forward(ctx, in, bo.y)
		}
	}
	b.ReportMetric(bo.flops*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

func convBench(b *testing.B, c, oc, g, k, hw int, backward bool) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := k / 2
	spec := NodeSpec{Op: "conv2d", Attrs: Attrs{Group: g, Pads: []int{p, p, p, p}}}
	params := map[string]*tensor.Tensor{"weight": randTensor(rng, 0, oc, c/g, k, k), "bias": randTensor(rng, 0, oc)}
	newBenchOp(b, spec, params, 1, c, hw, hw).run(b, backward)
}

// 3×3 conv 64→64 at 56×56, pad 1 (a ResNet stage-1 conv): im2col + GEMM.
func BenchmarkConv3x3_64x56(b *testing.B)         { convBench(b, 64, 64, 1, 3, 56, false) }
func BenchmarkConv3x3_64x56Backward(b *testing.B) { convBench(b, 64, 64, 1, 3, 56, true) }

// Pointwise 1×1 conv 128→128 at 28×28: a plain GEMM.
func BenchmarkConv1x1_128x28(b *testing.B)         { convBench(b, 128, 128, 1, 1, 28, false) }
func BenchmarkConv1x1_128x28Backward(b *testing.B) { convBench(b, 128, 128, 1, 1, 28, true) }

// Depthwise 3×3 at 56×56×128, pad 1 (MobileNet): Kernels.Depthwise3x3.
func BenchmarkDepthwise3x3_128x56(b *testing.B)         { convBench(b, 128, 128, 128, 3, 56, false) }
func BenchmarkDepthwise3x3_128x56Backward(b *testing.B) { convBench(b, 128, 128, 128, 3, 56, true) }

func denseBench(b *testing.B, backward bool) {
	rng := rand.New(rand.NewPCG(5, 6))
	params := map[string]*tensor.Tensor{"weight": randTensor(rng, 0, 1000, 1024), "bias": randTensor(rng, 0, 1000)}
	newBenchOp(b, NodeSpec{Op: "dense"}, params, 1, 1024).run(b, backward)
}

// Dense 1024→1000 at batch 1 (a classifier head): a GEMV, memory-bound.
func BenchmarkDense1024x1000(b *testing.B)         { denseBench(b, false) }
func BenchmarkDense1024x1000Backward(b *testing.B) { denseBench(b, true) }
