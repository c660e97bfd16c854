package onnx

import (
	"errors"
	"fmt"
	"math"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// call is one ONNX node being mapped.
type call struct {
	im    *importer
	n     *nodeProto
	in    []*entry
	where string
}

// handler maps one ONNX node; it returns one entry per ONNX output (nil
// for outputs it does not produce).
type handler func(c *call) ([]*entry, error)

// handlers lists the supported ONNX ops. It is filled once, at package
// initialisation, and read-only afterwards.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"Conv":               opConv,
		"Gemm":               opGemm,
		"MatMul":             opMatMul,
		"BatchNormalization": opBatchNorm,
		"Relu":               unary("relu"),
		"Sigmoid":            unary("sigmoid"),
		"Tanh":               unary("tanh"),
		"HardSwish":          unary("hardswish"),
		"HardSigmoid":        opHardSigmoid,
		"LeakyRelu":          opLeakyRelu,
		"PRelu":              opPRelu,
		"Clip":               opClip,
		"Add":                elementwise("add"),
		"Sub":                elementwise("sub"),
		"Mul":                elementwise("mul"),
		"Div":                elementwise("div"),
		"MaxPool":            opPool("maxpool"),
		"AveragePool":        opPool("avgpool"),
		"GlobalAveragePool":  opGlobalAvgPool,
		"ReduceMean":         opReduceMean,
		"Concat":             opConcat,
		"Flatten":            opFlatten,
		"Reshape":            opReshape,
		"Squeeze":            opSqueeze,
		"Unsqueeze":          opUnsqueeze,
		"Transpose":          opTranspose,
		"Pad":                opPad,
		"Dropout":            opDropout,
		"Identity":           opIdentity,
		"Softmax":            opSoftmax,
		"Constant":           opConstant,
		"Shape":              opShape,
		"Size":               opSize,
		"Gather":             opGather,
		"Slice":              opSlice,
		"Split":              opSplit,
		"Cast":               opCast,
		"ConstantOfShape":    opConstantOfShape,
		"QuantizeLinear":     opQuantize,
		"DequantizeLinear":   opDequantize,
	}
}

// SupportedOps lists the ONNX ops the importer maps (some only on
// constants: Shape, Size, Cast, ConstantOfShape; Gather, Slice and Split
// of computed tensors become crops, i.e. pads with negative pads).
func SupportedOps() []string {
	var s []string
	for k := range handlers {
		s = append(s, k)
	}
	sortStrings(s)
	return s
}

// arg returns input k or nil when it is absent.
func (c *call) arg(k int) *entry {
	if k < len(c.in) {
		return c.in[k]
	}
	return nil
}

func (c *call) need(k int, what string) (*entry, error) {
	e := c.arg(k)
	if e == nil {
		return nil, fmt.Errorf("missing input %d (%s)", k, what)
	}
	return e, nil
}

// constArg returns input k, which must be a constant (nil when absent).
func (c *call) constArg(k int, what string) (*value, error) {
	e := c.arg(k)
	if e == nil {
		return nil, nil
	}
	if e.c == nil {
		return nil, fmt.Errorf("input %d (%s, %q) must be a constant (an initializer or folded), but is computed from the graph input", k, what, c.n.Inputs[k])
	}
	return e.c, nil
}

func (c *call) out() string { return c.n.Outputs[0] }

// node returns the nn node name for input k, materialising constants.
func (c *call) node(k int) (string, error) {
	return c.im.nodeOf(c.in[k], c.n.Inputs[k])
}

// emit adds the node for output 0.
func (c *call) emit(op string, inputs []string, attrs nn.Attrs, params map[string]*tensor.Tensor, shape []int, batch bool) ([]*entry, error) {
	e, err := c.im.emit(c.out(), op, inputs, attrs, params, shape, batch)
	if err != nil {
		return nil, err
	}
	return []*entry{e}, nil
}

// helper adds an intermediate node with a fresh name derived from output 0.
func (c *call) helper(suffix, op string, inputs []string, attrs nn.Attrs, params map[string]*tensor.Tensor, shape []int, batch bool) (*entry, error) {
	return c.im.emit(c.im.fresh(c.out()+"#"+suffix), op, inputs, attrs, params, shape, batch)
}

// constSize refuses to fold when a result could exceed the constant limit:
// the product of the element counts of shapes bounds it.
func (c *call) constSize(shapes ...[]int) error {
	total := 1
	for _, s := range shapes {
		n, err := tensor.NumElements(s)
		if err != nil {
			return err
		}
		if n > 0 && total > c.im.lim.MaxConstElems/n {
			return fmt.Errorf("folding would make a constant of more than %d elements: %w", c.im.lim.MaxConstElems, ErrTooLarge)
		}
		total *= n
	}
	return nil
}

func allConst(in []*entry) bool {
	for _, e := range in {
		if e != nil && e.c == nil {
			return false
		}
	}
	return true
}

func constOut(v *value) ([]*entry, error) {
	return []*entry{{c: v, shape: v.Shape}}, nil
}

// reshapeTo emits a reshape of x to out named after output 0. When
// batchOut, the first dimension is written as -1 so that the node works for
// any batch size.
func (c *call) reshapeTo(x *entry, out []int, batchOut bool) ([]*entry, error) {
	if len(out) == 0 || len(out) > 8 {
		return nil, fmt.Errorf("result shape %v: CamLens tensors have rank 1 to 8", out)
	}
	node, err := c.im.nodeOf(x, c.n.Inputs[0])
	if err != nil {
		return nil, err
	}
	target := append([]int(nil), out...)
	if batchOut {
		target[0] = -1
	}
	return c.emit("reshape", []string{node}, nn.Attrs{Shape: target}, nil, out, batchOut)
}

// ---- element-wise ----

func unary(op string) handler {
	return func(c *call) ([]*entry, error) {
		x, err := c.need(0, "X")
		if err != nil {
			return nil, err
		}
		if x.c != nil && !x.c.IsFloat() {
			return nil, fmt.Errorf("input is %s; only float tensors are supported", dtypeName(x.c.DType))
		}
		n, err := c.node(0)
		if err != nil {
			return nil, err
		}
		return c.emit(op, []string{n}, nn.Attrs{}, nil, x.shape, x.batch)
	}
}

func opHardSigmoid(c *call) ([]*entry, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	a, err := c.n.attrFloat("alpha", 0.2)
	if err != nil {
		return nil, err
	}
	b, err := c.n.attrFloat("beta", 0.5)
	if err != nil {
		return nil, err
	}
	if a == 0 && b == 0 {
		return nil, errors.New("alpha = beta = 0 (a constant zero) is not supported")
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("hardsigmoid", []string{n}, nn.Attrs{Alpha: a, Beta: b}, nil, x.shape, x.batch)
}

func opLeakyRelu(c *call) ([]*entry, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	a, err := c.n.attrFloat("alpha", 0.01)
	if err != nil {
		return nil, err
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	if a == 0 {
		return c.emit("relu", []string{n}, nn.Attrs{}, nil, x.shape, x.batch)
	}
	return c.emit("leakyrelu", []string{n}, nn.Attrs{Alpha: a}, nil, x.shape, x.batch)
}

func opPRelu(c *call) ([]*entry, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	s, err := c.constArg(1, "slope")
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("missing input 1 (slope)")
	}
	if len(s.Shape) > len(x.shape) {
		return nil, fmt.Errorf("slope shape %v has a higher rank than the input %v", s.Shape, x.shape)
	}
	if _, err := broadcastShape(x.shape, s.Shape); err != nil {
		return nil, fmt.Errorf("slope: %w", err)
	}
	t := s.Tensor()
	// ONNX broadcasts the slope right-aligned; nn reads a 1-D slope of C
	// values as per channel (axis 1). Give it the full rank so both agree.
	if len(t.Shape) < len(x.shape) && len(t.Data) > 1 {
		shape := make([]int, len(x.shape))
		for i := range shape {
			shape[i] = 1
		}
		copy(shape[len(shape)-len(t.Shape):], t.Shape)
		t.Shape = shape
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("prelu", []string{n}, nn.Attrs{}, map[string]*tensor.Tensor{"slope": t}, x.shape, x.batch)
}

func opClip(c *call) ([]*entry, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	var lo, hi *float32
	if c.im.opset < 11 {
		if c.n.has("min") {
			v, err := c.n.attrFloat("min", 0)
			if err != nil {
				return nil, err
			}
			lo = &v
		}
		if c.n.has("max") {
			v, err := c.n.attrFloat("max", 0)
			if err != nil {
				return nil, err
			}
			hi = &v
		}
	} else {
		for k, p := range []**float32{&lo, &hi} {
			v, err := c.constArg(k+1, []string{"min", "max"}[k])
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			if v.Len() != 1 {
				return nil, fmt.Errorf("%s has %d values, want a scalar", []string{"min", "max"}[k], v.Len())
			}
			f := v.Floats()[0]
			if math.IsNaN(float64(f)) {
				return nil, errors.New("clip bound is NaN")
			}
			*p = &f
		}
	}
	if lo != nil && hi != nil && *lo > *hi {
		// ONNX (like numpy.clip) then gives max everywhere.
		v := *hi
		lo = &v
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("clip", []string{n}, nn.Attrs{Min: lo, Max: hi}, nil, x.shape, x.batch)
}

func elementwise(op string) handler {
	return func(c *call) ([]*entry, error) {
		a, err := c.need(0, "A")
		if err != nil {
			return nil, err
		}
		b, err := c.need(1, "B")
		if err != nil {
			return nil, err
		}
		if c.im.opset < 7 && c.n.has("broadcast") {
			return nil, errors.New("legacy broadcast attribute (opset < 7) is not supported")
		}
		if a.c != nil && b.c != nil {
			if shape, err := broadcastShape(a.c.Shape, b.c.Shape); err != nil {
				return nil, err
			} else if err := c.constSize(shape); err != nil {
				return nil, err
			}
			v, err := binaryConst(op, a.c, b.c)
			if err != nil {
				return nil, err
			}
			return constOut(v)
		}
		for _, e := range []*entry{a, b} {
			if e.c != nil && !e.c.IsFloat() {
				return nil, fmt.Errorf("constant operand is %s; only float tensors are supported", dtypeName(e.c.DType))
			}
		}
		shape, err := broadcastShape(a.shape, b.shape)
		if err != nil {
			return nil, err
		}
		batch := false
		for _, e := range []*entry{a, b} {
			if e.batch && len(e.shape) == len(shape) {
				batch = true
			}
		}
		for _, e := range []*entry{a, b} {
			if !e.batch && len(e.shape) == len(shape) && e.shape[0] != 1 {
				batch = false
			}
		}
		na, err := c.node(0)
		if err != nil {
			return nil, err
		}
		nb, err := c.node(1)
		if err != nil {
			return nil, err
		}
		return c.emit(op, []string{na, nb}, nn.Attrs{}, nil, shape, batch)
	}
}

// ---- dense ----

// dense emits y = x·wᵀ + b for x [N, IN], w [OUT, IN].
func (c *call) dense(xNode string, x *entry, w, b *tensor.Tensor, name string, shapeN int) (*entry, error) {
	p := map[string]*tensor.Tensor{"weight": w}
	if b != nil {
		p["bias"] = b
	}
	return c.im.emit(name, "dense", []string{xNode}, nn.Attrs{}, p, []int{shapeN, w.Shape[0]}, x.batch)
}

func transpose2(t *value) *tensor.Tensor {
	r, k := t.Shape[0], t.Shape[1]
	src := t.Floats()
	d := make([]float32, r*k)
	for i := 0; i < r; i++ {
		for j := 0; j < k; j++ {
			d[j*r+i] = src[i*k+j]
		}
	}
	return &tensor.Tensor{Shape: []int{k, r}, Data: d}
}

func opGemm(c *call) ([]*entry, error) {
	a, err := c.need(0, "A")
	if err != nil {
		return nil, err
	}
	bv, err := c.constArg(1, "B")
	if err != nil {
		return nil, err
	}
	if bv == nil {
		return nil, errors.New("missing input 1 (B)")
	}
	cv, err := c.constArg(2, "C")
	if err != nil {
		return nil, err
	}
	alpha, err := c.n.attrFloat("alpha", 1)
	if err != nil {
		return nil, err
	}
	beta, err := c.n.attrFloat("beta", 1)
	if err != nil {
		return nil, err
	}
	ta, err := c.n.attrInt("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := c.n.attrInt("transB", 0)
	if err != nil {
		return nil, err
	}
	if len(a.shape) != 2 || len(bv.Shape) != 2 {
		return nil, fmt.Errorf("A %v and B %v must be matrices", a.shape, bv.Shape)
	}
	if !bv.IsFloat() {
		return nil, fmt.Errorf("B is %s, want float", dtypeName(bv.DType))
	}
	xNode, err := c.node(0)
	if err != nil {
		return nil, err
	}
	x := a
	if ta != 0 {
		s := []int{a.shape[1], a.shape[0]}
		x, err = c.helper("transA", "transpose", []string{xNode}, nn.Attrs{Perm: []int{1, 0}}, nil, s, false)
		if err != nil {
			return nil, err
		}
		xNode = x.node
	}
	// w is [OUT, IN].
	var w *tensor.Tensor
	if tb != 0 {
		w = bv.Tensor()
	} else {
		w = transpose2(bv)
	}
	if w.Shape[1] != x.shape[1] {
		return nil, fmt.Errorf("A %v (transA %d) and B %v (transB %d) do not multiply", a.shape, ta, bv.Shape, tb)
	}
	if alpha != 1 {
		for i := range w.Data {
			w.Data[i] *= alpha
		}
	}
	out, m := w.Shape[0], x.shape[0]
	var bias *tensor.Tensor
	var extra *value // a bias that is not one row: added separately
	if cv != nil && beta != 0 {
		if !cv.IsFloat() {
			return nil, fmt.Errorf("C is %s, want float", dtypeName(cv.DType))
		}
		if _, err := broadcastShape([]int{m, out}, cv.Shape); err != nil {
			return nil, fmt.Errorf("C: %w", err)
		}
		f := cv.Floats()
		switch {
		case len(f) == 1:
			bias = &tensor.Tensor{Shape: []int{out}, Data: make([]float32, out)}
			for i := range bias.Data {
				bias.Data[i] = beta * f[0]
			}
		case len(f) == out && (len(cv.Shape) == 1 || cv.Shape[0] == 1):
			bias = &tensor.Tensor{Shape: []int{out}, Data: make([]float32, out)}
			for i := range bias.Data {
				bias.Data[i] = beta * f[i]
			}
		default:
			d := make([]float32, len(f))
			for i, v := range f {
				d[i] = beta * v
			}
			extra = floatValue(cv.Shape, d)
		}
	}
	if extra == nil {
		e, err := c.dense(xNode, x, w, bias, c.out(), m)
		if err != nil {
			return nil, err
		}
		return []*entry{e}, nil
	}
	d, err := c.dense(xNode, x, w, nil, c.im.fresh(c.out()+"#matmul"), m)
	if err != nil {
		return nil, err
	}
	cn, err := c.im.nodeOf(&entry{c: extra, shape: extra.Shape}, c.out()+"#C")
	if err != nil {
		return nil, err
	}
	shape, _ := broadcastShape(d.shape, extra.Shape)
	return c.emit("add", []string{d.node, cn}, nn.Attrs{}, nil, shape, false)
}

func opMatMul(c *call) ([]*entry, error) {
	a, err := c.need(0, "A")
	if err != nil {
		return nil, err
	}
	b, err := c.need(1, "B")
	if err != nil {
		return nil, err
	}
	if b.c == nil {
		return nil, fmt.Errorf("B (%q) is computed from the graph input; CamLens supports MatMul by a constant matrix only", c.n.Inputs[1])
	}
	bv := b.c
	if !bv.IsFloat() {
		return nil, fmt.Errorf("B is %s, want float", dtypeName(bv.DType))
	}
	if len(bv.Shape) != 2 || len(a.shape) < 2 {
		return nil, fmt.Errorf("A %v × B %v: only A of rank ≥ 2 times a constant matrix B is supported", a.shape, bv.Shape)
	}
	k, m := bv.Shape[0], bv.Shape[1]
	if a.shape[len(a.shape)-1] != k {
		return nil, fmt.Errorf("A %v and B %v do not multiply", a.shape, bv.Shape)
	}
	w := transpose2(bv)
	xNode, err := c.node(0)
	if err != nil {
		return nil, err
	}
	if len(a.shape) == 2 {
		e, err := c.dense(xNode, a, w, nil, c.out(), a.shape[0])
		if err != nil {
			return nil, err
		}
		return []*entry{e}, nil
	}
	rows := prod(a.shape[:len(a.shape)-1])
	flat, err := c.helper("rows", "reshape", []string{xNode}, nn.Attrs{Shape: []int{-1, k}}, nil, []int{rows, k}, false)
	if err != nil {
		return nil, err
	}
	d, err := c.dense(flat.node, flat, w, nil, c.im.fresh(c.out()+"#matmul"), rows)
	if err != nil {
		return nil, err
	}
	out := append(append([]int(nil), a.shape[:len(a.shape)-1]...), m)
	target := append([]int(nil), out...)
	if a.batch {
		target[0] = -1
	}
	return c.emit("reshape", []string{d.node}, nn.Attrs{Shape: target}, nil, out, a.batch)
}

// ---- convolution and pooling ----

// spatial holds the 2-D window attributes of Conv and the pools.
type spatial struct {
	kernel, stride, dilation []int
	pads                     []int // top, left, bottom, right
	ceil                     bool
}

func (c *call) window(x []int, kernel []int, withDilation bool) (*spatial, error) {
	s := &spatial{kernel: kernel, stride: []int{1, 1}, dilation: []int{1, 1}, pads: []int{0, 0, 0, 0}}
	if v, ok, err := c.n.attrInts("strides"); err != nil {
		return nil, err
	} else if ok {
		if len(v) != 2 {
			return nil, fmt.Errorf("strides %v: want 2 values", v)
		}
		s.stride = v
	}
	if v, ok, err := c.n.attrInts("dilations"); err != nil {
		return nil, err
	} else if ok {
		if len(v) != 2 {
			return nil, fmt.Errorf("dilations %v: want 2 values", v)
		}
		if !withDilation && (v[0] != 1 || v[1] != 1) {
			return nil, fmt.Errorf("dilations %v are not supported for this op", v)
		}
		s.dilation = v
	}
	for i := 0; i < 2; i++ {
		if s.kernel[i] < 1 || s.stride[i] < 1 || s.dilation[i] < 1 {
			return nil, fmt.Errorf("kernel %v, strides %v, dilations %v must be positive", s.kernel, s.stride, s.dilation)
		}
	}
	autoPad, err := c.n.attrString("auto_pad", "NOTSET")
	if err != nil {
		return nil, err
	}
	switch autoPad {
	case "NOTSET", "":
		if v, ok, err := c.n.attrInts("pads"); err != nil {
			return nil, err
		} else if ok {
			if len(v) != 4 {
				return nil, fmt.Errorf("pads %v: want 4 values", v)
			}
			for _, p := range v {
				if p < 0 {
					return nil, fmt.Errorf("pads %v: negative padding", v)
				}
			}
			// ONNX [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right].
			s.pads = v
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < 2; i++ {
			in := x[2+i]
			out := (in + s.stride[i] - 1) / s.stride[i]
			total := max(0, (out-1)*s.stride[i]+(s.kernel[i]-1)*s.dilation[i]+1-in)
			small, big := total/2, total-total/2
			if autoPad == "SAME_UPPER" {
				s.pads[i], s.pads[2+i] = small, big
			} else {
				s.pads[i], s.pads[2+i] = big, small
			}
		}
	default:
		return nil, fmt.Errorf("auto_pad %q is not supported", autoPad)
	}
	return s, nil
}

// outSize returns the output spatial size (PyTorch's ceil_mode rule: a
// last window that starts in the end padding is dropped).
func (s *spatial) outSize(x []int) ([]int, error) {
	out := make([]int, 2)
	for i := 0; i < 2; i++ {
		span := x[2+i] + s.pads[i] + s.pads[2+i] - ((s.kernel[i]-1)*s.dilation[i] + 1)
		if span < 0 {
			return nil, fmt.Errorf("window %v (dilation %v) larger than the padded input %v", s.kernel, s.dilation, x)
		}
		o := span / s.stride[i]
		if s.ceil {
			o = (span + s.stride[i] - 1) / s.stride[i]
			if o*s.stride[i] >= x[2+i]+s.pads[i] {
				o--
			}
		}
		out[i] = o + 1
	}
	return out, nil
}

func opConv(c *call) ([]*entry, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	wv, err := c.constArg(1, "W")
	if err != nil {
		return nil, err
	}
	if wv == nil {
		return nil, errors.New("missing input 1 (W)")
	}
	bv, err := c.constArg(2, "B")
	if err != nil {
		return nil, err
	}
	if len(x.shape) != 4 || len(wv.Shape) != 4 {
		return nil, fmt.Errorf("input %v and weight %v: only 2-D convolution (4-D tensors) is supported", x.shape, wv.Shape)
	}
	if !wv.IsFloat() {
		return nil, fmt.Errorf("W is %s, want float", dtypeName(wv.DType))
	}
	group, err := c.n.attrInt("group", 1)
	if err != nil {
		return nil, err
	}
	if group < 1 || x.shape[1]%group != 0 || wv.Shape[0]%group != 0 || wv.Shape[1]*group != x.shape[1] {
		return nil, fmt.Errorf("group %d does not fit input %v and weight %v", group, x.shape, wv.Shape)
	}
	kernel := wv.Shape[2:]
	if k, ok, err := c.n.attrInts("kernel_shape"); err != nil {
		return nil, err
	} else if ok && !sameInts(k, kernel) {
		return nil, fmt.Errorf("kernel_shape %v disagrees with weight %v", k, wv.Shape)
	}
	s, err := c.window(x.shape, append([]int(nil), kernel...), true)
	if err != nil {
		return nil, err
	}
	hw, err := s.outSize(x.shape)
	if err != nil {
		return nil, err
	}
	p := map[string]*tensor.Tensor{"weight": wv.Tensor()}
	if bv != nil {
		if len(bv.Shape) != 1 || bv.Shape[0] != wv.Shape[0] || !bv.IsFloat() {
			return nil, fmt.Errorf("bias shape %v (%s), want [%d] float", bv.Shape, dtypeName(bv.DType), wv.Shape[0])
		}
		p["bias"] = bv.Tensor()
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	attrs := nn.Attrs{Kernel: s.kernel, Stride: s.stride, Dilation: s.dilation, Pads: s.pads, Group: group}
	return c.emit("conv2d", []string{n}, attrs, p, []int{x.shape[0], wv.Shape[0], hw[0], hw[1]}, x.batch)
}

func opPool(op string) handler {
	return func(c *call) ([]*entry, error) {
		x, err := c.need(0, "X")
		if err != nil {
			return nil, err
		}
		if len(x.shape) != 4 {
			return nil, fmt.Errorf("input %v: only 2-D pooling (4-D tensors) is supported", x.shape)
		}
		if len(c.n.Outputs) > 1 && c.n.Outputs[1] != "" && c.im.used[c.n.Outputs[1]] > 0 {
			return nil, errors.New("the Indices output is not supported")
		}
		k, ok, err := c.n.attrInts("kernel_shape")
		if err != nil {
			return nil, err
		}
		if !ok || len(k) != 2 {
			return nil, fmt.Errorf("kernel_shape %v: want 2 values", k)
		}
		s, err := c.window(x.shape, k, op == "maxpool")
		if err != nil {
			return nil, err
		}
		ceil, err := c.n.attrInt("ceil_mode", 0)
		if err != nil {
			return nil, err
		}
		s.ceil = ceil != 0
		attrs := nn.Attrs{Kernel: s.kernel, Stride: s.stride, Pads: s.pads, CeilMode: s.ceil}
		if op == "maxpool" {
			attrs.Dilation = s.dilation
		} else {
			cip, err := c.n.attrInt("count_include_pad", 0)
			if err != nil {
				return nil, err
			}
			attrs.CountIncludePad = cip != 0
		}
		hw, err := s.outSize(x.shape)
		if err != nil {
			return nil, err
		}
		n, err := c.node(0)
		if err != nil {
			return nil, err
		}
		return c.emit(op, []string{n}, attrs, nil, []int{x.shape[0], x.shape[1], hw[0], hw[1]}, x.batch)
	}
}

func opGlobalAvgPool(c *call) ([]*entry, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	if len(x.shape) != 4 {
		return nil, fmt.Errorf("input %v: only 4-D inputs are supported", x.shape)
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("globalavgpool", []string{n}, nn.Attrs{}, nil, []int{x.shape[0], x.shape[1], 1, 1}, x.batch)
}

// opReduceMean maps ReduceMean. nn's reducemean averages the spatial axes
// of a 4-D tensor; other axes are brought there by a transpose and a
// reshape (kept axes first, reduced axes last).
func opReduceMean(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	keep, err := c.n.attrInt("keepdims", 1)
	if err != nil {
		return nil, err
	}
	var axes []int
	hasAxes := false
	if c.im.opset < 18 {
		axes, hasAxes, err = c.n.attrInts("axes")
		if err != nil {
			return nil, err
		}
	} else if v, err := c.constArg(1, "axes"); err != nil {
		return nil, err
	} else if v != nil {
		iv, err := v.Ints()
		if err != nil {
			return nil, err
		}
		if axes, err = ints64(iv, "axes"); err != nil {
			return nil, err
		}
		hasAxes = len(axes) > 0
	}
	r := len(x.shape)
	reduced := make([]bool, r)
	if !hasAxes {
		noop, err := c.n.attrInt("noop_with_empty_axes", 0)
		if err != nil {
			return nil, err
		}
		if noop != 0 {
			return opIdentity(c)
		}
		for i := range reduced {
			reduced[i] = true
		}
	}
	for _, a := range axes {
		k, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if reduced[k] {
			return nil, fmt.Errorf("axes %v repeat an axis", axes)
		}
		reduced[k] = true
	}
	var outShape, keptAxes, redAxes []int
	for i, d := range x.shape {
		if reduced[i] {
			redAxes = append(redAxes, i)
			if keep != 0 {
				outShape = append(outShape, 1)
			}
		} else {
			keptAxes = append(keptAxes, i)
			outShape = append(outShape, d)
		}
	}
	if len(outShape) == 0 {
		return nil, errors.New("reducing to a scalar is not supported (CamLens tensors have rank ≥ 1)")
	}
	batch := x.batch && !reduced[0]
	xNode, err := c.node(0)
	if err != nil {
		return nil, err
	}
	if r == 4 && !reduced[0] && !reduced[1] && reduced[2] && reduced[3] {
		return c.emit("reducemean", []string{xNode}, nn.Attrs{Axes: []int{2, 3}, KeepDims: keep != 0}, nil, outShape, batch)
	}
	perm := append(append([]int(nil), keptAxes...), redAxes...)
	cur := x
	curNode := xNode
	identity := true
	for i, p := range perm {
		identity = identity && p == i
	}
	if !identity {
		ts := make([]int, r)
		for i, p := range perm {
			ts[i] = x.shape[p]
		}
		cur, err = c.helper("perm", "transpose", []string{curNode}, nn.Attrs{Perm: perm}, nil, ts, batch)
		if err != nil {
			return nil, err
		}
		curNode = cur.node
	}
	red := 1
	for _, a := range redAxes {
		red *= x.shape[a]
	}
	a, b := 1, 1
	for _, k := range keptAxes {
		b *= x.shape[k]
	}
	target := []int{1, b, red, 1}
	if batch {
		a, b = x.shape[0], b/x.shape[0]
		target = []int{-1, b, red, 1}
	}
	four, err := c.helper("4d", "reshape", []string{curNode}, nn.Attrs{Shape: target}, nil, []int{a, b, red, 1}, batch)
	if err != nil {
		return nil, err
	}
	m, err := c.helper("mean", "reducemean", []string{four.node}, nn.Attrs{Axes: []int{2, 3}, KeepDims: true}, nil, []int{a, b, 1, 1}, batch)
	if err != nil {
		return nil, err
	}
	return c.reshapeTo(m, outShape, batch)
}

// ---- shape ops ----

func opConcat(c *call) ([]*entry, error) {
	if len(c.in) == 0 {
		return nil, errors.New("no inputs")
	}
	for k, e := range c.in {
		if e == nil {
			return nil, fmt.Errorf("input %d is empty", k)
		}
	}
	def := 1
	if c.im.opset >= 4 {
		if !c.n.has("axis") {
			return nil, errors.New("missing attribute axis")
		}
	}
	axis, err := c.n.attrInt("axis", def)
	if err != nil {
		return nil, err
	}
	r := len(c.in[0].shape)
	a, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	shape := append([]int(nil), c.in[0].shape...)
	for k, e := range c.in[1:] {
		if len(e.shape) != r {
			return nil, fmt.Errorf("input %d has shape %v, input 0 has %v", k+1, e.shape, c.in[0].shape)
		}
		for j := range e.shape {
			if j != a && e.shape[j] != shape[j] {
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v", k+1, e.shape, c.in[0].shape)
			}
		}
		shape[a] += e.shape[a]
	}
	if allConst(c.in) {
		vals := make([]*value, len(c.in))
		for k, e := range c.in {
			vals[k] = e.c
		}
		v, err := concatConst(vals, a, shape)
		if err != nil {
			return nil, err
		}
		return constOut(v)
	}
	batch := a != 0
	names := make([]string, len(c.in))
	for k, e := range c.in {
		batch = batch && e.batch
		if names[k], err = c.node(k); err != nil {
			return nil, err
		}
	}
	return c.emit("concat", names, nn.Attrs{Axis: a}, nil, shape, batch)
}

func opFlatten(c *call) ([]*entry, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	axis, err := c.n.attrInt("axis", 1)
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	a := axis
	if a < 0 {
		a += r
	}
	if a < 0 || a > r {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	shape := []int{prod(x.shape[:a]), prod(x.shape[a:])}
	if x.c != nil {
		return constOut(&value{DType: x.c.DType, Shape: shape, F: x.c.F, I: x.c.I})
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("flatten", []string{n}, nn.Attrs{Axis: a}, nil, shape, x.batch && a == 1)
}

func opReshape(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	var target []int
	if c.im.opset < 5 {
		v, ok, err := c.n.attrInts("shape")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("missing attribute shape")
		}
		target = v
	} else {
		v, err := c.constArg(1, "shape")
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, errors.New("missing input 1 (shape)")
		}
		iv, err := v.Ints()
		if err != nil {
			return nil, fmt.Errorf("shape: %w", err)
		}
		if target, err = ints64(iv, "shape"); err != nil {
			return nil, err
		}
	}
	allowZero, err := c.n.attrInt("allowzero", 0)
	if err != nil {
		return nil, err
	}
	out, err := reshapeShape(x.shape, target, allowZero != 0)
	if err != nil {
		return nil, err
	}
	if x.c != nil {
		return constOut(&value{DType: x.c.DType, Shape: out, F: x.c.F, I: x.c.I})
	}
	// A target that keeps dimension 0 and regroups only the rest (the
	// flatten before a classifier, with the batch written as a number or
	// folded from Shape) is read as keeping the batch.
	batch := x.batch && len(out) > 0 && out[0] == x.shape[0] && prod(out[1:]) == prod(x.shape[1:])
	return c.reshapeTo(x, out, batch)
}

// reshapeShape applies ONNX Reshape semantics to a concrete input shape.
func reshapeShape(in, target []int, allowZero bool) ([]int, error) {
	if len(target) > 8 {
		return nil, fmt.Errorf("shape %v has rank above 8", target)
	}
	out := make([]int, len(target))
	total := prod(in)
	known, infer := 1, -1
	for i, d := range target {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", target)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of the rank-%d input %v", target, i, len(in), in)
			}
			d = in[i]
		case d == 0:
			return nil, fmt.Errorf("shape %v with allowzero makes an empty tensor", target)
		case d < -1:
			return nil, fmt.Errorf("shape %v has dimension %d", target, d)
		}
		if d > 0 && known > tensor.MaxElements/d {
			return nil, fmt.Errorf("shape %v: %w", target, tensor.ErrTooLarge)
		}
		out[i] = d
		known *= d
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot infer the -1 of shape %v for input %v", target, in)
		}
		out[infer] = total / known
	} else if known != total {
		return nil, fmt.Errorf("shape %v does not fit input %v (%d elements)", target, in, total)
	}
	return out, nil
}

// axesArg reads Squeeze/Unsqueeze/ReduceX axes: an attribute before opset
// 13, an optional input from it on.
func (c *call) axesArg() ([]int, bool, error) {
	if c.im.opset < 13 {
		return c.n.attrInts("axes")
	}
	v, err := c.constArg(1, "axes")
	if err != nil || v == nil {
		return nil, false, err
	}
	iv, err := v.Ints()
	if err != nil {
		return nil, false, err
	}
	a, err := ints64(iv, "axes")
	return a, true, err
}

func opSqueeze(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	axes, has, err := c.axesArg()
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	drop := make([]bool, r)
	if !has {
		for i, d := range x.shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		k, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if x.shape[k] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", a, x.shape)
		}
		drop[k] = true
	}
	var out []int
	for i, d := range x.shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	if x.c != nil {
		return constOut(&value{DType: x.c.DType, Shape: out, F: x.c.F, I: x.c.I})
	}
	return c.reshapeTo(x, out, x.batch && !drop[0])
}

func opUnsqueeze(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	axes, has, err := c.axesArg()
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, errors.New("missing axes")
	}
	r := len(x.shape) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		k, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[k] {
			return nil, fmt.Errorf("axes %v repeat an axis", axes)
		}
		ins[k] = true
	}
	out := make([]int, r)
	j := 0
	for i := range out {
		if ins[i] {
			out[i] = 1
		} else {
			out[i] = x.shape[j]
			j++
		}
	}
	if x.c != nil {
		return constOut(&value{DType: x.c.DType, Shape: out, F: x.c.F, I: x.c.I})
	}
	return c.reshapeTo(x, out, x.batch && !ins[0])
}

func opTranspose(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	perm, ok, err := c.n.attrInts("perm")
	if err != nil {
		return nil, err
	}
	if !ok {
		perm = make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v for rank %d", perm, r)
	}
	seen := make([]bool, r)
	out := make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
		out[i] = x.shape[p]
	}
	if x.c != nil {
		return constOut(transposeConst(x.c, perm, out))
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("transpose", []string{n}, nn.Attrs{Perm: perm}, nil, out, x.batch && perm[0] == 0)
}

func opPad(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	mode, err := c.n.attrString("mode", "constant")
	if err != nil {
		return nil, err
	}
	if mode != "constant" {
		return nil, fmt.Errorf("pad mode %q is not supported (only constant)", mode)
	}
	r := len(x.shape)
	var pads []int
	var val float32
	if c.im.opset < 11 {
		p, ok, err := c.n.attrInts("pads")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("missing attribute pads")
		}
		pads = p
		if val, err = c.n.attrFloat("value", 0); err != nil {
			return nil, err
		}
	} else {
		pv, err := c.constArg(1, "pads")
		if err != nil {
			return nil, err
		}
		if pv == nil {
			return nil, errors.New("missing input 1 (pads)")
		}
		iv, err := pv.Ints()
		if err != nil {
			return nil, err
		}
		if pads, err = ints64(iv, "pads"); err != nil {
			return nil, err
		}
		cv, err := c.constArg(2, "constant_value")
		if err != nil {
			return nil, err
		}
		if cv != nil {
			if cv.Len() != 1 {
				return nil, fmt.Errorf("constant_value has %d values", cv.Len())
			}
			val = cv.Floats()[0]
		}
		av, err := c.constArg(3, "axes")
		if err != nil {
			return nil, err
		}
		if av != nil {
			ia, err := av.Ints()
			if err != nil {
				return nil, err
			}
			axes, err := ints64(ia, "axes")
			if err != nil {
				return nil, err
			}
			if len(pads) != 2*len(axes) {
				return nil, fmt.Errorf("pads %v for axes %v", pads, axes)
			}
			full := make([]int, 2*r)
			for i, a := range axes {
				k, err := normAxis(a, r)
				if err != nil {
					return nil, err
				}
				full[k], full[r+k] = pads[i], pads[len(axes)+i]
			}
			pads = full
		}
	}
	if len(pads) != 2*r {
		return nil, fmt.Errorf("pads %v for a rank-%d input", pads, r)
	}
	out := make([]int, r)
	for i, d := range x.shape {
		out[i] = d + pads[i] + pads[r+i]
		if out[i] < 1 {
			return nil, fmt.Errorf("pads %v leave dimension %d of %v empty", pads, i, x.shape)
		}
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("pad", []string{n}, nn.Attrs{Pads: pads, Value: val}, nil, out, x.batch && pads[0] == 0 && pads[r] == 0)
}

func opIdentity(c *call) ([]*entry, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	if x.c != nil {
		return constOut(x.c)
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("identity", []string{n}, nn.Attrs{}, nil, x.shape, x.batch)
}

func opDropout(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	if len(c.n.Outputs) > 1 && c.n.Outputs[1] != "" && c.im.used[c.n.Outputs[1]] > 0 {
		return nil, errors.New("the mask output is not supported")
	}
	training := false
	if c.im.opset < 7 {
		t, err := c.n.attrInt("is_test", 0)
		if err != nil {
			return nil, err
		}
		training = t == 0
	}
	if t, err := c.constArg(2, "training_mode"); err != nil {
		return nil, err
	} else if t != nil {
		ti, err := t.Ints()
		if err != nil || len(ti) != 1 {
			return nil, errors.New("training_mode must be one boolean")
		}
		training = ti[0] != 0
	}
	if training {
		ratio := float32(0.5)
		if c.im.opset < 12 {
			if ratio, err = c.n.attrFloat("ratio", 0.5); err != nil {
				return nil, err
			}
		} else if r, err := c.constArg(1, "ratio"); err != nil {
			return nil, err
		} else if r != nil && r.Len() == 1 {
			ratio = r.Floats()[0]
		}
		if ratio != 0 {
			return nil, errors.New("training-mode dropout (random) is not supported")
		}
	}
	if x.c != nil {
		return constOut(x.c)
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("dropout", []string{n}, nn.Attrs{}, nil, x.shape, x.batch)
}

func opSoftmax(c *call) ([]*entry, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	def := -1
	if c.im.opset < 13 {
		def = 1
	}
	axis, err := c.n.attrInt("axis", def)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	if c.im.opset >= 13 || a == r-1 {
		return c.emit("softmax", []string{n}, nn.Attrs{Axis: a}, nil, x.shape, x.batch)
	}
	// Before opset 13 Softmax works on the input flattened to 2-D at axis.
	flat := []int{prod(x.shape[:a]), prod(x.shape[a:])}
	f, err := c.helper("2d", "flatten", []string{n}, nn.Attrs{Axis: a}, nil, flat, false)
	if err != nil {
		return nil, err
	}
	s, err := c.helper("softmax", "softmax", []string{f.node}, nn.Attrs{Axis: 1}, nil, flat, false)
	if err != nil {
		return nil, err
	}
	return c.reshapeTo(s, x.shape, x.batch && a >= 1)
}

// ---- constants and folding-only ops ----

func opConstant(c *call) ([]*entry, error) {
	if len(c.n.Attrs) != 1 {
		return nil, fmt.Errorf("want exactly one value attribute, got %d", len(c.n.Attrs))
	}
	a := c.n.Attrs[0]
	switch a.Name {
	case "value":
		if err := checkAttrType(a, atTensor); err != nil {
			return nil, err
		}
		v, err := toValue(a.T)
		if err != nil {
			return nil, err
		}
		return constOut(v)
	case "value_float":
		if err := checkAttrType(a, atFloat); err != nil {
			return nil, err
		}
		return constOut(floatValue([]int{}, []float32{a.F}))
	case "value_floats":
		if err := checkAttrType(a, atFloats); err != nil {
			return nil, err
		}
		return constOut(floatValue([]int{len(a.Floats)}, append([]float32(nil), a.Floats...)))
	case "value_int":
		if err := checkAttrType(a, atInt); err != nil {
			return nil, err
		}
		return constOut(intValue([]int{}, []int64{a.I}))
	case "value_ints":
		if err := checkAttrType(a, atInts); err != nil {
			return nil, err
		}
		return constOut(intValue([]int{len(a.Ints)}, append([]int64(nil), a.Ints...)))
	}
	return nil, fmt.Errorf("constant attribute %q is not supported", a.Name)
}

func opShape(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	start, err := c.n.attrInt("start", 0)
	if err != nil {
		return nil, err
	}
	end, err := c.n.attrInt("end", r)
	if err != nil {
		return nil, err
	}
	clamp := func(v int) int {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start, end = clamp(start), clamp(end)
	var d []int64
	for i := start; i < end; i++ {
		d = append(d, int64(x.shape[i]))
	}
	return constOut(intValue([]int{len(d)}, d))
}

func opSize(c *call) ([]*entry, error) {
	x, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	return constOut(intValue([]int{}, []int64{int64(prod(x.shape))}))
}

func opGather(c *call) ([]*entry, error) {
	data, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	iv, err := c.constArg(1, "indices")
	if err != nil {
		return nil, err
	}
	if iv == nil {
		return nil, errors.New("missing input 1 (indices)")
	}
	axis, err := c.n.attrInt("axis", 0)
	if err != nil {
		return nil, err
	}
	if data.c != nil {
		// The result has at most len(data)·len(indices) elements.
		if err := c.constSize(data.c.Shape, iv.Shape); err != nil {
			return nil, err
		}
		v, err := gatherConst(data.c, iv, axis)
		if err != nil {
			return nil, err
		}
		return constOut(v)
	}
	// On a computed tensor: runs of consecutive indices become crops
	// (pads with negative values), joined by a concat.
	r := len(data.shape)
	a, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	idx, err := iv.Ints()
	if err != nil {
		return nil, fmt.Errorf("indices: %w", err)
	}
	if len(idx) == 0 {
		return nil, errors.New("empty indices")
	}
	l := data.shape[a]
	type run struct{ begin, count int }
	var runs []run
	for _, k := range idx {
		if k < 0 {
			k += int64(l)
		}
		if k < 0 || k >= int64(l) {
			return nil, fmt.Errorf("index %d out of range for axis %d of shape %v", k, a, data.shape)
		}
		if n := len(runs); n > 0 && runs[n-1].begin+runs[n-1].count == int(k) {
			runs[n-1].count++
			continue
		}
		if len(runs) >= maxGatherRuns {
			return nil, fmt.Errorf("indices form more than %d runs", maxGatherRuns)
		}
		runs = append(runs, run{int(k), 1})
	}
	out := append(append(append([]int(nil), data.shape[:a]...), iv.Shape...), data.shape[a+1:]...)
	joined := append([]int(nil), data.shape...)
	joined[a] = len(idx)
	batch := data.batch && a != 0
	final := len(iv.Shape) == 1 // the joined tensor already has the output shape
	xNode, err := c.node(0)
	if err != nil {
		return nil, err
	}
	name := func(suffix string, last bool) string {
		if last && final {
			return c.out()
		}
		return c.im.fresh(c.out() + "#" + suffix)
	}
	var parts []string
	var last *entry
	for i, rn := range runs {
		last, err = c.crop(data, xNode, a, rn.begin, rn.count, name(fmt.Sprintf("run%d", i), len(runs) == 1), batch)
		if err != nil {
			return nil, err
		}
		parts = append(parts, last.node)
	}
	if len(runs) > 1 {
		last, err = c.im.emit(name("join", true), "concat", parts, nn.Attrs{Axis: a}, nil, joined, batch)
		if err != nil {
			return nil, err
		}
	}
	if final {
		return []*entry{last}, nil
	}
	return c.reshapeFrom(last, out, batch)
}

// maxGatherRuns bounds the nodes a Gather on a computed tensor becomes.
const maxGatherRuns = 256

// crop emits a pad with negative pads keeping [begin, begin+count) of axis.
func (c *call) crop(x *entry, xNode string, axis, begin, count int, name string, batch bool) (*entry, error) {
	r := len(x.shape)
	pads := make([]int, 2*r)
	pads[axis] = -begin
	pads[r+axis] = -(x.shape[axis] - begin - count)
	shape := append([]int(nil), x.shape...)
	shape[axis] = count
	return c.im.emit(name, "pad", []string{xNode}, nn.Attrs{Pads: pads}, nil, shape, batch)
}

// reshapeFrom emits a reshape of the nn node x (not an ONNX input) to out,
// named after output 0.
func (c *call) reshapeFrom(x *entry, out []int, batchOut bool) ([]*entry, error) {
	if len(out) == 0 || len(out) > 8 {
		return nil, fmt.Errorf("result shape %v: CamLens tensors have rank 1 to 8", out)
	}
	target := append([]int(nil), out...)
	if batchOut {
		target[0] = -1
	}
	return c.emit("reshape", []string{x.node}, nn.Attrs{Shape: target}, nil, out, batchOut)
}

func opSlice(c *call) ([]*entry, error) {
	data, err := c.need(0, "data")
	if err != nil {
		return nil, err
	}
	var starts, ends, axes, steps []int
	if c.im.opset < 10 {
		var ok bool
		if starts, ok, err = c.n.attrInts("starts"); err != nil || !ok {
			return nil, errors.New("missing or bad attribute starts")
		}
		if ends, ok, err = c.n.attrInts("ends"); err != nil || !ok {
			return nil, errors.New("missing or bad attribute ends")
		}
		if axes, _, err = c.n.attrInts("axes"); err != nil {
			return nil, err
		}
	} else {
		get := func(k int, what string) ([]int, error) {
			v, err := c.constArg(k, what)
			if err != nil || v == nil {
				return nil, err
			}
			iv, err := v.Ints()
			if err != nil {
				return nil, err
			}
			// Slice bounds are often ±2^63−1 ("to the end"): clamp first.
			cl := make([]int, len(iv))
			for i, x := range iv {
				cl[i] = int(max(min(x, maxAttrInt), -maxAttrInt))
			}
			return cl, nil
		}
		if starts, err = get(1, "starts"); err != nil {
			return nil, err
		}
		if ends, err = get(2, "ends"); err != nil {
			return nil, err
		}
		if axes, err = get(3, "axes"); err != nil {
			return nil, err
		}
		if steps, err = get(4, "steps"); err != nil {
			return nil, err
		}
	}
	if data.c != nil {
		v, err := sliceConst(data.c, starts, ends, axes, steps)
		if err != nil {
			return nil, err
		}
		return constOut(v)
	}
	begin, count, step, err := sliceBounds(data.shape, starts, ends, axes, steps)
	if err != nil {
		return nil, err
	}
	r := len(data.shape)
	pads := make([]int, 2*r)
	for i := range data.shape {
		if step[i] != 1 {
			return nil, fmt.Errorf("step %d on axis %d of a computed tensor is not supported (only step 1)", step[i], i)
		}
		if count[i] < 1 {
			return nil, fmt.Errorf("the slice of axis %d is empty", i)
		}
		pads[i], pads[r+i] = -begin[i], -(data.shape[i] - begin[i] - count[i])
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("pad", []string{n}, nn.Attrs{Pads: pads}, nil, count, data.batch && pads[0] == 0 && pads[r] == 0)
}

// opSplit maps Split: each output is a crop (a pad with negative pads) of
// the input along axis, named after that output.
func opSplit(c *call) ([]*entry, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	axis, err := c.n.attrInt("axis", 0)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(axis, len(x.shape))
	if err != nil {
		return nil, err
	}
	l := x.shape[a]
	var sizes []int
	if c.im.opset < 13 {
		if sizes, _, err = c.n.attrInts("split"); err != nil {
			return nil, err
		}
	} else if v, err := c.constArg(1, "split"); err != nil {
		return nil, err
	} else if v != nil {
		iv, err := v.Ints()
		if err != nil {
			return nil, err
		}
		if sizes, err = ints64(iv, "split"); err != nil {
			return nil, err
		}
	}
	outs := len(c.n.Outputs)
	if sizes == nil {
		parts := outs
		if c.im.opset >= 18 {
			if parts, err = c.n.attrInt("num_outputs", outs); err != nil {
				return nil, err
			}
		}
		if parts != outs || parts < 1 {
			return nil, fmt.Errorf("num_outputs %d for %d outputs", parts, outs)
		}
		// Equal parts; from opset 18 the last one may be smaller.
		size := (l + parts - 1) / parts
		if c.im.opset < 18 {
			if l%parts != 0 {
				return nil, fmt.Errorf("axis %d of %v does not split into %d equal parts", a, x.shape, parts)
			}
			size = l / parts
		}
		for i := 0; i < parts; i++ {
			sizes = append(sizes, min(size, l-i*size))
		}
	}
	if len(sizes) != outs {
		return nil, fmt.Errorf("split %v for %d outputs", sizes, outs)
	}
	total := 0
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("split %v has an empty part (CamLens tensors have no zero dimensions)", sizes)
		}
		total += s
	}
	if total != l {
		return nil, fmt.Errorf("split %v does not add up to dimension %d of %v", sizes, a, x.shape)
	}
	res := make([]*entry, outs)
	begin := 0
	for i, s := range sizes {
		name := c.n.Outputs[i]
		if name == "" || c.im.used[name] == 0 {
			begin += s
			continue
		}
		if x.c != nil {
			starts, ends, axes := []int{begin}, []int{begin + s}, []int{a}
			v, err := sliceConst(x.c, starts, ends, axes, nil)
			if err != nil {
				return nil, err
			}
			res[i] = &entry{c: v, shape: v.Shape}
		} else {
			xNode, err := c.node(0)
			if err != nil {
				return nil, err
			}
			if res[i], err = c.crop(x, xNode, a, begin, s, name, x.batch && a != 0); err != nil {
				return nil, err
			}
		}
		begin += s
	}
	return res, nil
}

func opCast(c *call) ([]*entry, error) {
	x, err := c.need(0, "input")
	if err != nil {
		return nil, err
	}
	to, err := c.n.attrInt("to", 0)
	if err != nil {
		return nil, err
	}
	if x.c == nil {
		if to == dtFloat || to == dtDouble {
			// float32 values are exact in float64; CamLens computes on in float32.
			return opIdentity(c)
		}
		return nil, fmt.Errorf("cast of a computed tensor to %s is not supported (CamLens activations are float32)", dtypeName(int32(to)))
	}
	v, err := castConst(x.c, int32(to))
	if err != nil {
		return nil, err
	}
	return constOut(v)
}

func opConstantOfShape(c *call) ([]*entry, error) {
	sv, err := c.constArg(0, "input")
	if err != nil {
		return nil, err
	}
	if sv == nil {
		return nil, errors.New("missing input 0 (shape)")
	}
	iv, err := sv.Ints()
	if err != nil {
		return nil, err
	}
	shape, err := ints64(iv, "shape")
	if err != nil {
		return nil, err
	}
	n, err := tensor.NumElements(shape)
	if err != nil {
		return nil, err
	}
	if n > c.im.lim.MaxConstElems {
		return nil, fmt.Errorf("shape %v above the constant limit: %w", shape, ErrTooLarge)
	}
	fill := floatValue([]int{1}, []float32{0})
	if a := c.n.attr("value"); a != nil {
		if err := checkAttrType(a, atTensor); err != nil {
			return nil, err
		}
		if fill, err = toValue(a.T); err != nil {
			return nil, err
		}
		if fill.Len() != 1 {
			return nil, fmt.Errorf("value has %d elements, want 1", fill.Len())
		}
	}
	out := &value{DType: fill.DType, Shape: shape}
	if fill.IsFloat() {
		out.F = make([]float32, n)
		for i := range out.F {
			out.F[i] = fill.F[0]
		}
	} else {
		out.I = make([]int64, n)
		for i := range out.I {
			out.I[i] = fill.I[0]
		}
	}
	return constOut(out)
}

// quantParams reads scale and zero point of QuantizeLinear and
// DequantizeLinear and returns, per element of x, the index of its scale.
func (c *call) quantParams(shape []int) (scale []float32, zp []int64, zpType int32, idx func(i int) int, err error) {
	sv, err := c.constArg(1, "scale")
	if err != nil {
		return nil, nil, 0, nil, err
	}
	if sv == nil {
		return nil, nil, 0, nil, errors.New("missing input 1 (scale)")
	}
	if bs, err := c.n.attrInt("block_size", 0); err != nil || bs != 0 {
		return nil, nil, 0, nil, errors.New("blocked quantization (block_size) is not supported")
	}
	scale = sv.Floats()
	zpType = dtUint8
	if zv, err := c.constArg(2, "zero_point"); err != nil {
		return nil, nil, 0, nil, err
	} else if zv != nil {
		if zv.Len() != len(scale) {
			return nil, nil, 0, nil, fmt.Errorf("zero point has %d values, scale %d", zv.Len(), len(scale))
		}
		if zp, err = zv.Ints(); err != nil {
			return nil, nil, 0, nil, err
		}
		zpType = zv.DType
	} else {
		zp = make([]int64, len(scale))
	}
	if len(scale) == 1 {
		return scale, zp, zpType, func(int) int { return 0 }, nil
	}
	if len(sv.Shape) != 1 {
		return nil, nil, 0, nil, fmt.Errorf("scale shape %v: want a scalar or 1-D", sv.Shape)
	}
	axis, err := c.n.attrInt("axis", 1)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, nil, 0, nil, err
	}
	if shape[a] != len(scale) {
		return nil, nil, 0, nil, fmt.Errorf("%d scales for axis %d of shape %v", len(scale), a, shape)
	}
	inner := prod(shape[a+1:])
	ch := shape[a]
	return scale, zp, zpType, func(i int) int { return (i / inner) % ch }, nil
}

func opDequantize(c *call) ([]*entry, error) {
	x, err := c.need(0, "x")
	if err != nil {
		return nil, err
	}
	if x.quant != nil {
		// Q→DQ on an activation: CamLens keeps activations in float32, so
		// the pair becomes an identity (the quantisation noise is dropped).
		n, err := c.im.nodeOf(x.quant, c.n.Inputs[0])
		if err != nil {
			return nil, err
		}
		return c.emit("identity", []string{n}, nn.Attrs{}, nil, x.quant.shape, x.quant.batch)
	}
	if x.c == nil {
		return nil, errors.New("DequantizeLinear of a computed integer tensor is not supported")
	}
	if x.c.IsFloat() {
		return nil, fmt.Errorf("input is %s, want an integer type", dtypeName(x.c.DType))
	}
	scale, zp, _, idx, err := c.quantParams(x.c.Shape)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(x.c.I))
	for i, q := range x.c.I {
		k := idx(i)
		out[i] = float32(q-zp[k]) * scale[k]
	}
	return constOut(floatValue(x.c.Shape, out))
}

func opQuantize(c *call) ([]*entry, error) {
	x, err := c.need(0, "x")
	if err != nil {
		return nil, err
	}
	scale, zp, zpType, idx, err := c.quantParams(x.shape)
	if err != nil {
		return nil, err
	}
	if x.c == nil {
		return []*entry{{quant: x, shape: x.shape}}, nil
	}
	lo, hi := int64(0), int64(255)
	switch zpType {
	case dtInt8:
		lo, hi = -128, 127
	case dtUint16:
		lo, hi = 0, 65535
	case dtInt16:
		lo, hi = -32768, 32767
	case dtUint8:
	default:
		return nil, fmt.Errorf("quantizing to %s is not supported", dtypeName(zpType))
	}
	f := x.c.Floats()
	out := make([]int64, len(f))
	for i, v := range f {
		k := idx(i)
		if scale[k] == 0 {
			return nil, errors.New("scale is 0")
		}
		q := int64(math.RoundToEven(float64(v/scale[k]))) + zp[k]
		out[i] = min(max(q, lo), hi)
	}
	return constOut(&value{DType: zpType, Shape: x.c.Shape, I: out})
}

// ---- batch norm ----

func opBatchNorm(c *call) ([]*entry, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	if len(x.shape) < 2 {
		return nil, fmt.Errorf("input %v: want rank ≥ 2 (N, C, …)", x.shape)
	}
	if t, err := c.n.attrInt("training_mode", 0); err != nil || t != 0 {
		return nil, errors.New("training-mode BatchNormalization is not supported")
	}
	if sp, err := c.n.attrInt("spatial", 1); err != nil || sp != 1 {
		return nil, errors.New("spatial = 0 (per-activation statistics) is not supported")
	}
	for k := 1; k < len(c.n.Outputs); k++ {
		if o := c.n.Outputs[k]; o != "" && c.im.used[o] > 0 {
			return nil, fmt.Errorf("training output %d (%q) is not supported", k, o)
		}
	}
	eps, err := c.n.attrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	if eps == 0 {
		eps = math.SmallestNonzeroFloat32 // nn reads 0 as its default 1e-5
	}
	p := map[string]*tensor.Tensor{}
	for k, name := range []string{"scale", "bias", "mean", "var"} {
		v, err := c.constArg(k+1, name)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("missing input %d (%s)", k+1, name)
		}
		if len(v.Shape) != 1 || v.Shape[0] != x.shape[1] || !v.IsFloat() {
			return nil, fmt.Errorf("%s has shape %v (%s), want [%d] float", name, v.Shape, dtypeName(v.DType), x.shape[1])
		}
		p[name] = v.Tensor()
	}
	n, err := c.node(0)
	if err != nil {
		return nil, err
	}
	return c.emit("batchnorm", []string{n}, nn.Attrs{Eps: eps}, p, x.shape, x.batch)
}
