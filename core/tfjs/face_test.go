package tfjs

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// randomFaceWeights returns weights named and shaped as in face-api's
// manifest, with values of a trained net's scale.
func randomFaceWeights(t testing.TB, seed uint64) map[string]*tensor.Tensor {
	t.Helper()
	data, err := os.ReadFile("testdata/face_expression_model-weights_manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	w := map[string]*tensor.Tensor{}
	for _, e := range m.Groups[0].Weights {
		x := tensor.New(e.Shape...)
		fanIn := 1
		if len(e.Shape) > 1 {
			for _, d := range e.Shape[:len(e.Shape)-1] {
				fanIn *= d
			}
		}
		a := math.Sqrt(6 / float64(fanIn))
		if len(e.Shape) == 1 {
			a = 0.1
		}
		for i := range x.Data {
			x.Data[i] = float32((2*r.Float64() - 1) * a)
		}
		w[e.Name] = x
	}
	return w
}

// The reference below computes FaceExpressionNet the way TF.js does, on
// NHWC tensors with TF's "same" padding, written independently of the
// graph builder (no shared helpers).

type hwc struct {
	h, w, c int
	d       []float64
}

func (t hwc) at(y, x, c int) float64 { return t.d[(y*t.w+x)*t.c+c] }

// tfSame returns the output size and the padding before, TF-style.
func tfSame(in, k, s int) (out, before int) {
	out = (in + s - 1) / s
	total := (out-1)*s + k - in
	if total < 0 {
		total = 0
	}
	return out, total / 2
}

func refConv(x hwc, f *tensor.Tensor, stride int) hwc {
	kh, kw, ci, co := f.Shape[0], f.Shape[1], f.Shape[2], f.Shape[3]
	oh, pt := tfSame(x.h, kh, stride)
	ow, pl := tfSame(x.w, kw, stride)
	out := hwc{oh, ow, co, make([]float64, oh*ow*co)}
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for o := 0; o < co; o++ {
				s := 0.0
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						y, xx := oy*stride+ky-pt, ox*stride+kx-pl
						if y < 0 || y >= x.h || xx < 0 || xx >= x.w {
							continue
						}
						for i := 0; i < ci; i++ {
							s += x.at(y, xx, i) * float64(f.Data[((ky*kw+kx)*ci+i)*co+o])
						}
					}
				}
				out.d[(oy*ow+ox)*co+o] = s
			}
		}
	}
	return out
}

func refDepthwise(x hwc, f *tensor.Tensor, stride int) hwc {
	kh, kw := f.Shape[0], f.Shape[1]
	oh, pt := tfSame(x.h, kh, stride)
	ow, pl := tfSame(x.w, kw, stride)
	out := hwc{oh, ow, x.c, make([]float64, oh*ow*x.c)}
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for c := 0; c < x.c; c++ {
				s := 0.0
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						y, xx := oy*stride+ky-pt, ox*stride+kx-pl
						if y >= 0 && y < x.h && xx >= 0 && xx < x.w {
							s += x.at(y, xx, c) * float64(f.Data[(ky*kw+kx)*x.c+c])
						}
					}
				}
				out.d[(oy*ow+ox)*x.c+c] = s
			}
		}
	}
	return out
}

func refBias(x hwc, b *tensor.Tensor) hwc {
	for i := range x.d {
		x.d[i] += float64(b.Data[i%x.c])
	}
	return x
}

func refSep(x hwc, w map[string]*tensor.Tensor, p string, stride int) hwc {
	return refBias(refConv(refDepthwise(x, w[p+"/depthwise_filter"], stride), w[p+"/pointwise_filter"], 1), w[p+"/bias"])
}

func refSum(relu bool, xs ...hwc) hwc {
	out := hwc{xs[0].h, xs[0].w, xs[0].c, make([]float64, len(xs[0].d))}
	for _, x := range xs {
		for i, v := range x.d {
			out.d[i] += v
		}
	}
	if relu {
		for i, v := range out.d {
			out.d[i] = math.Max(v, 0)
		}
	}
	return out
}

func refBlock(x hwc, w map[string]*tensor.Tensor, p string, first bool) hwc {
	var c0 hwc
	if first {
		c0 = refBias(refConv(x, w[p+"/conv0/filters"], 2), w[p+"/conv0/bias"])
	} else {
		c0 = refSep(x, w, p+"/conv0", 2)
	}
	out1 := refSum(true, c0)
	out2 := refSep(out1, w, p+"/conv1", 1)
	out3 := refSep(refSum(true, out1, out2), w, p+"/conv2", 1)
	out4 := refSep(refSum(true, out1, out2, out3), w, p+"/conv3", 1)
	return refSum(true, out1, out2, out3, out4)
}

// refFaceExpression returns the dense3 output and the logits.
func refFaceExpression(x hwc, w map[string]*tensor.Tensor) (hwc, []float64) {
	for i, name := range []string{"dense0", "dense1", "dense2", "dense3"} {
		x = refBlock(x, w, name, i == 0)
	}
	fw, fb := w["fc/weights"], w["fc/bias"]
	logits := make([]float64, 7)
	for j := range logits {
		s := float64(fb.Data[j])
		for c := 0; c < x.c; c++ {
			m := 0.0
			for p := 0; p < x.h*x.w; p++ {
				m += x.d[p*x.c+c]
			}
			s += m / float64(x.h*x.w) * float64(fw.Data[c*7+j])
		}
		logits[j] = s
	}
	return x, logits
}

func TestFaceExpressionModelMatchesReference(t *testing.T) {
	w := randomFaceWeights(t, 7)
	m, err := FaceExpressionModel(w, "00")
	if err != nil {
		t.Fatal(err)
	}
	g, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{
		"dense0/conv0":           {1, 32, 56, 56},
		"dense0/out":             {1, 32, 56, 56},
		"dense1/conv0/depthwise": {1, 32, 28, 28},
		"dense1/out":             {1, 64, 28, 28},
		"dense2/out":             {1, 128, 14, 14},
		"dense3/conv3":           {1, 256, 7, 7},
		"dense3/out":             {1, 256, 7, 7},
		"pool":                   {1, 256, 1, 1},
		"fc":                     {1, 7},
	}
	for name, want := range shapes {
		i, err := g.Index(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(g.Nodes[i].Shape, want) {
			t.Errorf("%s: shape %v, want %v", name, g.Nodes[i].Shape, want)
		}
	}
	var block []string
	for _, n := range m.Graph.Nodes {
		if strings.HasPrefix(n.Name, "dense1/") {
			block = append(block, n.Name)
		}
	}
	wantBlock := []string{"dense1/conv0/depthwise", "dense1/conv0", "dense1/out1",
		"dense1/conv1/depthwise", "dense1/conv1", "dense1/sum12", "dense1/in3",
		"dense1/conv2/depthwise", "dense1/conv2", "dense1/sum23", "dense1/sum123", "dense1/in4",
		"dense1/conv3/depthwise", "dense1/conv3", "dense1/sum34", "dense1/sum234", "dense1/sum1234", "dense1/out"}
	if !slices.Equal(block, wantBlock) {
		t.Errorf("dense1 nodes %v, want %v", block, wantBlock)
	}
	if n := len(m.Graph.Nodes); n != 4*18-1+3 {
		t.Errorf("%d nodes, want %d", n, 4*18-1+3)
	}
	def, err := g.DefaultLayer()
	if err != nil || g.Nodes[def].Spec.Name != FaceExpressionDefaultLayer || m.Meta.DefaultLayer != FaceExpressionDefaultLayer {
		t.Errorf("default layer %d (%v), meta %q; want %s", def, err, m.Meta.DefaultLayer, FaceExpressionDefaultLayer)
	}

	// A face-like input: (pixel − mean)/255 of random pixels.
	r := rand.New(rand.NewPCG(3, 4))
	ref := hwc{112, 112, 3, make([]float64, 112*112*3)}
	x := tensor.New(1, 3, 112, 112)
	mean := FaceMeanRGB()
	for y := 0; y < 112; y++ {
		for xx := 0; xx < 112; xx++ {
			for c := 0; c < 3; c++ {
				v := float32((r.Float64()*255 - float64(mean[c])) / 255)
				ref.d[(y*112+xx)*3+c] = float64(v)
				x.Data[(c*112+y)*112+xx] = v
			}
		}
	}
	a, err := g.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	feat, logits := refFaceExpression(ref, w)
	scale := 0.0
	for _, v := range logits {
		scale = math.Max(scale, math.Abs(v))
	}
	for j, v := range logits {
		if d := math.Abs(float64(a.Output().Data[j]) - v); d > 1e-4*math.Max(1, scale) {
			t.Errorf("logit %d: graph %v, reference %v", j, a.Output().Data[j], v)
		}
	}
	di, _ := g.Index(FaceExpressionDefaultLayer)
	got := a.Out[di]
	maxd, maxv := 0.0, 0.0
	for c := 0; c < 256; c++ {
		for p := 0; p < 49; p++ {
			v := feat.d[p*256+c]
			maxv = math.Max(maxv, math.Abs(v))
			maxd = math.Max(maxd, math.Abs(float64(got.Data[c*49+p])-v))
		}
	}
	t.Logf("logits %v; dense3/out max |diff| %.3g (max |value| %.3g)", a.Output().Data, maxd, maxv)
	if maxd > 1e-4*math.Max(1, maxv) {
		t.Errorf("dense3/out differs from the reference by %g", maxd)
	}
}

func TestFaceExpressionModelErrors(t *testing.T) {
	cases := []struct {
		name   string
		modify func(map[string]*tensor.Tensor)
		want   string
	}{
		{"missing", func(w map[string]*tensor.Tensor) { delete(w, "dense2/conv3/bias") }, `missing weight "dense2/conv3/bias"`},
		{"wrong shape", func(w map[string]*tensor.Tensor) { w["fc/weights"] = tensor.New(7, 256) }, `"fc/weights" has shape [7 256], face-api expects [256 7]`},
		{"extra", func(w map[string]*tensor.Tensor) { w["dense4/conv0/bias"] = tensor.New(1) }, `unexpected weight "dense4/conv0/bias"`},
		{"nil", func(w map[string]*tensor.Tensor) { w["dense0/conv0/filters"] = nil }, `missing weight "dense0/conv0/filters"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := randomFaceWeights(t, 1)
			c.modify(w)
			_, err := FaceExpressionModel(w, "00")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestConvertFaceExpression(t *testing.T) {
	man, err := os.ReadFile("testdata/face_expression_model-weights_manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	bin := make([]byte, 329468)
	m, err := ConvertFaceExpression(man, bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	if p := m.Meta.Provenance; p.SHA256 != hex.EncodeToString(sum[:]) || p.License != "MIT" || !strings.Contains(p.Source, "@vladmandic/face-api@1.7.15") {
		t.Errorf("provenance %+v", p)
	}
	if !slices.Equal(m.Meta.Labels, FaceExpressionLabels()) || m.Meta.Preprocess.Width != 112 || m.Meta.Preprocess.Fit != "pad-square" {
		t.Errorf("meta %+v", m.Meta)
	}
	// Weight 0 of dense0/conv0/filters is q=0: value = min, in OIHW position 0.
	if got, want := m.Weights["dense0/conv0.weight"].Data[0], float32(-0.7125408074435067); got != want {
		t.Errorf("dense0/conv0.weight[0] = %v, want %v", got, want)
	}
	if _, err := ConvertFaceExpression(man, bin[:1000]); err == nil || !strings.Contains(err.Error(), "shards hold 1000 bytes") {
		t.Errorf("short bin: %v", err)
	}
	if _, err := ConvertFaceExpression([]byte(`[]`), bin); err == nil {
		t.Error("empty manifest accepted")
	}
}
