package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// TestPoolForwardCases checks small cases against PyTorch 1.13
// (F.max_pool2d, F.avg_pool2d) on x = 1..25 (5×5) or 1..36 (6×6).
func TestPoolForwardCases(t *testing.T) {
	x5 := mustT([]int{1, 1, 5, 5}, seq(25, 1, 0))
	x6 := mustT([]int{1, 1, 6, 6}, seq(36, 1, 0))
	p1 := []int{1, 1, 1, 1}
	for _, c := range []struct {
		name  string
		op    string
		attrs Attrs
		x     *tensor.Tensor
		oh    int
		want  []float32
	}{
		{"max k2 s2", "maxpool", Attrs{Kernel: []int{2, 2}}, x5, 2, []float32{7, 9, 17, 19}},
		{"max k2 s2 ceil", "maxpool", Attrs{Kernel: []int{2, 2}, CeilMode: true}, x5, 3, []float32{7, 9, 10, 17, 19, 20, 22, 24, 25}},
		{"max k3 s2 p1", "maxpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1}, x5, 3, []float32{7, 9, 10, 17, 19, 20, 22, 24, 25}},
		{"max k3 s2 p1 ceil", "maxpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1, CeilMode: true}, x5, 3, []float32{7, 9, 10, 17, 19, 20, 22, 24, 25}},
		// The 4th window would start at 6 = H + top: dropped (PyTorch gives 3×3).
		{"max k2 s2 p1 ceil drop", "maxpool", Attrs{Kernel: []int{2, 2}, Pads: p1, CeilMode: true}, x5, 3, []float32{1, 3, 5, 11, 13, 15, 21, 23, 25}},
		{"avg k2 s2 p1 ceil drop incl", "avgpool", Attrs{Kernel: []int{2, 2}, Pads: p1, CeilMode: true, CountIncludePad: true}, x5, 3,
			[]float32{0.25, 1.25, 2.25, 4.25, 10, 12, 9.25, 20, 22}},
		{"avg k2 s2 p1 ceil drop", "avgpool", Attrs{Kernel: []int{2, 2}, Pads: p1, CeilMode: true}, x5, 3,
			[]float32{1, 2.5, 4.5, 8.5, 10, 12, 18.5, 20, 22}},
		{"max k2 s1 d2", "maxpool", Attrs{Kernel: []int{2, 2}, Stride: []int{1, 1}, Dilation: []int{2, 2}}, x5, 3, []float32{13, 14, 15, 18, 19, 20, 23, 24, 25}},
		{"avg k3 s2 p1", "avgpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1}, x5, 3, []float32{4, 5.5, 7, 11.5, 13, 14.5, 19, 20.5, 22}},
		{"avg k3 s2 p1 incl", "avgpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1, CountIncludePad: true}, x5, 3,
			[]float32{1.7777778, 3.6666667, 3.1111112, 7.6666665, 13, 9.666667, 8.444445, 13.666667, 9.777778}},
		{"avg6 k3 s2 p1", "avgpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1}, x6, 3, []float32{4.5, 6, 8, 13.5, 15, 17, 25.5, 27, 29}},
		{"avg6 k3 s2 p1 incl", "avgpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1, CountIncludePad: true}, x6, 3, []float32{2, 4, 5.3333335, 9, 15, 17, 17, 27, 29}},
		{"avg6 k3 s2 p1 ceil", "avgpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1, CeilMode: true}, x6, 4,
			[]float32{4.5, 6, 8, 9, 13.5, 15, 17, 18, 25.5, 27, 29, 30, 31.5, 33, 35, 36}},
		{"avg6 k3 s2 p1 ceil incl", "avgpool", Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: p1, CeilMode: true, CountIncludePad: true}, x6, 4,
			[]float32{2, 4, 5.3333335, 3, 9, 15, 17, 9, 17, 27, 29, 15, 10.5, 16.5, 17.5, 9}},
		{"avg6 k2 s2 p1 ceil incl", "avgpool", Attrs{Kernel: []int{2, 2}, Pads: p1, CeilMode: true, CountIncludePad: true}, x6, 4,
			[]float32{0.25, 1.25, 2.25, 1.5, 5, 11.5, 13.5, 7.5, 11, 23.5, 25.5, 13.5, 7.75, 16.25, 17.25, 9}},
		{"avg6 k2 s2 p1", "avgpool", Attrs{Kernel: []int{2, 2}, Pads: p1}, x6, 4,
			[]float32{1, 2.5, 4.5, 6, 10, 11.5, 13.5, 15, 22, 23.5, 25.5, 27, 31, 32.5, 34.5, 36}},
	} {
		y := run(t, buildOp(t, NodeSpec{Op: c.op, Attrs: c.attrs}, nil), c.x)
		if y.Shape[2] != c.oh || y.Shape[3] != c.oh {
			t.Errorf("%s: shape %v, want %d×%d", c.name, y.Shape, c.oh, c.oh)
			continue
		}
		if i, ok := closeTo(y.Data, c.want, 1e-6); !ok {
			t.Errorf("%s: element %d: got %v, want %v", c.name, i, y.Data, c.want)
		}
	}
}

// TestMaxPoolTies: gradient goes to the first maximum in window order
// (PyTorch: y = [3 3 3 3], x.grad = [0 2 0 1 0 0 0 1 0]).
func TestMaxPoolTies(t *testing.T) {
	x := mustT([]int{1, 1, 3, 3}, []float32{1, 3, 3, 3, 2, 1, 0, 3, 1})
	op := buildOp(t, NodeSpec{Op: "maxpool", Attrs: Attrs{Kernel: []int{2, 2}, Stride: []int{1, 1}}}, nil)
	y := run(t, op, x)
	gy := mustT(y.Shape, []float32{1, 1, 1, 1})
	gx := tensor.New(x.Shape...)
	op.Backward(&Context{}, []*tensor.Tensor{x}, y, gy, []*tensor.Tensor{gx})
	if _, ok := closeTo(y.Data, []float32{3, 3, 3, 3}, 0); !ok {
		t.Errorf("y = %v", y.Data)
	}
	if _, ok := closeTo(gx.Data, []float32{0, 2, 0, 1, 0, 0, 0, 1, 0}, 0); !ok {
		t.Errorf("gx = %v", gx.Data)
	}
}

// distinct returns a tensor holding a random permutation of values spaced
// 0.05 apart, so no finite-difference step can change a max.
func distinct(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i, p := range rng.Perm(len(t.Data)) {
		t.Data[i] = float32(p)*0.05 - float32(len(t.Data))*0.025
	}
	return t
}

func TestPoolGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	type pc struct {
		name  string
		op    string
		attrs Attrs
		shape []int
	}
	var cases []pc
	for _, op := range []string{"maxpool", "avgpool"} {
		for _, ceil := range []bool{false, true} {
			cases = append(cases,
				pc{"k3 s2 p1", op, Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: []int{1, 1, 1, 1}, CeilMode: ceil}, []int{2, 2, 6, 7}},
				pc{"k2 asym pads", op, Attrs{Kernel: []int{2, 3}, Stride: []int{2, 2}, Pads: []int{0, 1, 1, 0}, CeilMode: ceil}, []int{1, 3, 7, 8}},
				pc{"k3 s1", op, Attrs{Kernel: []int{3, 3}, Stride: []int{1, 1}, CeilMode: ceil}, []int{1, 2, 5, 5}},
				pc{"k3 s3", op, Attrs{Kernel: []int{3, 3}, CeilMode: ceil}, []int{2, 1, 8, 7}},
			)
			if op == "avgpool" {
				cases = append(cases,
					pc{"k3 s2 p1 incl", op, Attrs{Kernel: []int{3, 3}, Stride: []int{2, 2}, Pads: []int{1, 1, 1, 1}, CeilMode: ceil, CountIncludePad: true}, []int{2, 2, 6, 7}},
					pc{"k2 asym incl", op, Attrs{Kernel: []int{2, 3}, Stride: []int{2, 2}, Pads: []int{0, 1, 1, 0}, CeilMode: ceil, CountIncludePad: true}, []int{1, 3, 7, 8}},
				)
			} else {
				cases = append(cases,
					pc{"k3 d2 p2", op, Attrs{Kernel: []int{3, 3}, Stride: []int{2, 1}, Dilation: []int{2, 2}, Pads: []int{2, 1, 2, 0}, CeilMode: ceil}, []int{2, 2, 9, 8}})
			}
		}
	}
	for _, c := range cases {
		var x *tensor.Tensor
		if c.op == "maxpool" {
			x = distinct(rng, c.shape...)
		} else {
			x = randTensor(rng, 0, c.shape...)
		}
		checkGrad(t, gradCase{
			name:   c.op + " " + c.name + map[bool]string{true: " ceil", false: ""}[c.attrs.CeilMode],
			spec:   NodeSpec{Op: c.op, Inputs: []string{"x"}, Attrs: c.attrs},
			inputs: []*tensor.Tensor{x},
		})
	}
}

// TestPoolCeilShapes: ceil mode adds a window only when it starts inside
// the input or the left padding.
func TestPoolCeilShapes(t *testing.T) {
	for _, c := range []struct {
		n, k, s, a, b int
		ceil          bool
		want          int
	}{
		{5, 2, 2, 0, 0, false, 2}, {5, 2, 2, 0, 0, true, 3},
		{6, 3, 2, 1, 1, false, 3}, {6, 3, 2, 1, 1, true, 4},
		{6, 2, 2, 1, 1, true, 4},
		{5, 2, 2, 1, 1, true, 3}, // a 4th window would start at 6 = n + top, in the right padding
		{5, 2, 2, 1, 1, false, 3},
		{4, 2, 3, 0, 1, true, 2}, {4, 3, 3, 0, 0, true, 2},
	} {
		got, err := poolLen("h", c.n, c.k, c.s, 1, c.a, c.b, c.ceil)
		if err != nil || got != c.want {
			t.Errorf("poolLen(n=%d k=%d s=%d pads %d,%d ceil=%v) = %d, %v; want %d", c.n, c.k, c.s, c.a, c.b, c.ceil, got, err, c.want)
		}
	}
}

func TestPoolErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		op    string
		attrs Attrs
		want  string
	}{
		{"no kernel", "maxpool", Attrs{}, "kernel needs 2 values"},
		{"zero kernel", "avgpool", Attrs{Kernel: []int{0, 2}}, "kernel"},
		{"zero stride", "maxpool", Attrs{Kernel: []int{2, 2}, Stride: []int{1, 0}}, "stride"},
		{"avg dilation", "avgpool", Attrs{Kernel: []int{2, 2}, Dilation: []int{2, 2}}, "dilation"},
		{"negative pads", "maxpool", Attrs{Kernel: []int{2, 2}, Pads: []int{-1, 0, 0, 0}}, "negative"},
		{"reducemean axis 1", "reducemean", Attrs{Axes: []int{1}}, "only the spatial axes"},
		{"reducemean repeat", "reducemean", Attrs{Axes: []int{2, -2}}, "repeat"},
	} {
		spec := NodeSpec{Name: "p", Op: c.op, Inputs: []string{"x"}, Attrs: c.attrs}
		_, err := builders[c.op](&spec, paramMap(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"p"`) {
			t.Errorf("%s: error %v, want one naming the node and containing %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name  string
		op    string
		attrs Attrs
		shape []int
		want  string
	}{
		{"rank", "maxpool", Attrs{Kernel: []int{2, 2}}, []int{1, 4, 4}, "4-D"},
		{"too small", "avgpool", Attrs{Kernel: []int{5, 5}}, []int{1, 1, 4, 9}, "smaller than the window"},
		{"window in padding", "maxpool", Attrs{Kernel: []int{2, 2}, Stride: []int{1, 1}, Pads: []int{2, 0, 0, 0}}, []int{1, 1, 3, 3}, "entirely in the padding"},
		{"last window in padding", "avgpool", Attrs{Kernel: []int{2, 2}, Stride: []int{1, 1}, Pads: []int{0, 0, 2, 0}}, []int{1, 1, 3, 3}, "window 3 (of 4) lies entirely"},
		{"dilated window misses", "maxpool", Attrs{Kernel: []int{2, 2}, Dilation: []int{2, 1}, Pads: []int{1, 0, 1, 0}}, []int{1, 1, 1, 3}, "entirely in the padding"},
		{"reducemean rank", "reducemean", Attrs{}, []int{2, 3}, "4-D"},
	} {
		op := buildOp(t, NodeSpec{Op: c.op, Attrs: c.attrs}, nil)
		if _, err := op.OutShape([][]int{c.shape}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: OutShape error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestMeanForward(t *testing.T) {
	x := mustT([]int{1, 2, 2, 3}, []float32{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60})
	for _, c := range []struct {
		op    string
		attrs Attrs
		shape []int
		want  []float32
	}{
		{"globalavgpool", Attrs{}, []int{1, 2, 1, 1}, []float32{3.5, 35}},
		{"reducemean", Attrs{}, []int{1, 2}, []float32{3.5, 35}},
		{"reducemean", Attrs{KeepDims: true}, []int{1, 2, 1, 1}, []float32{3.5, 35}},
		{"reducemean", Attrs{Axes: []int{-1}, KeepDims: true}, []int{1, 2, 2, 1}, []float32{2, 5, 20, 50}},
		{"reducemean", Attrs{Axes: []int{2}}, []int{1, 2, 3}, []float32{2.5, 3.5, 4.5, 25, 35, 45}},
		{"reducemean", Attrs{Axes: []int{3, 2}, KeepDims: true}, []int{1, 2, 1, 1}, []float32{3.5, 35}},
	} {
		y := run(t, buildOp(t, NodeSpec{Op: c.op, Attrs: c.attrs}, nil), x)
		if !tensor.SameShape(y.Shape, c.shape) {
			t.Errorf("%s %+v: shape %v, want %v", c.op, c.attrs, y.Shape, c.shape)
			continue
		}
		if _, ok := closeTo(y.Data, c.want, 1e-6); !ok {
			t.Errorf("%s %+v: got %v, want %v", c.op, c.attrs, y.Data, c.want)
		}
	}
}

func TestMeanGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	for _, c := range []struct {
		name  string
		op    string
		attrs Attrs
	}{
		{"globalavgpool", "globalavgpool", Attrs{}},
		{"reducemean hw", "reducemean", Attrs{}},
		{"reducemean h keep", "reducemean", Attrs{Axes: []int{-2}, KeepDims: true}},
		{"reducemean w", "reducemean", Attrs{Axes: []int{3}}},
	} {
		checkGrad(t, gradCase{name: c.name, spec: NodeSpec{Op: c.op, Inputs: []string{"x"}, Attrs: c.attrs},
			inputs: []*tensor.Tensor{randTensor(rng, 0, 2, 3, 5, 4)}})
	}
}

// TestPoolLenBrute cross-checks poolLen's output length and its
// all-padding-window check with a brute-force scan of every window.
func TestPoolLenBrute(t *testing.T) {
	for n := 1; n <= 6; n++ {
		for k := 1; k <= 4; k++ {
			for s := 1; s <= 3; s++ {
				for d := 1; d <= 3; d++ {
					for a := 0; a <= 4; a++ {
						for b := 0; b <= 4; b++ {
							for _, ceil := range []bool{false, true} {
								got, err := poolLen("h", n, k, s, d, a, b, ceil)
								ext := d*(k-1) + 1
								if n+a+b < ext {
									if err == nil {
										t.Errorf("n%d k%d s%d d%d pads %d,%d: no error for a kernel larger than the input", n, k, s, d, a, b)
									}
									continue
								}
								// Windows start at o·s − a (padded offset o·s).
								// Floor: those that fit the padded input. Ceil:
								// those starting within num+s−1, then PyTorch
								// drops the last once if it starts at or after
								// the end of the input (n + a in padded offsets).
								num := n + a + b - ext
								want := 0
								for o := 0; ceil && o*s <= num+s-1 || !ceil && o*s <= num; o++ {
									want++
								}
								if ceil && (want-1)*s >= n+a {
									want--
								}
								empty := false
								for o := 0; o < want; o++ {
									real := false
									for t := 0; t < k; t++ {
										if p := o*s - a + t*d; p >= 0 && p < n {
											real = true
										}
									}
									empty = empty || !real
								}
								if empty != (err != nil) || err == nil && got != want {
									t.Errorf("n%d k%d s%d d%d pads %d,%d ceil=%v: got %d, %v; brute force %d windows, empty=%v", n, k, s, d, a, b, ceil, got, err, want, empty)
								}
							}
						}
					}
				}
			}
		}
	}
}
