package tfjs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// FaceAPIVersion is the face-api release whose source this package follows
// (architecture, parameter names, preprocessing).
const FaceAPIVersion = "1.7.15"

// FaceExpressionWeightsFile is the shard name of the face expression model
// in face-api's model/ directory.
const FaceExpressionWeightsFile = "face_expression_model.bin"

// FaceInputSize is the side of face-api's square face input.
const FaceInputSize = 112

// FaceMeanRGB is face-api's FaceFeatureExtractor mean (on 0..255 pixels);
// the input is (pixel − mean)/255.
func FaceMeanRGB() []float32 { return []float32{122.782, 117.001, 104.298} }

// FaceExpressionLabels returns FaceExpressionNet's classes in output order.
func FaceExpressionLabels() []string {
	return []string{"neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"}
}

// FaceExpressionDefaultLayer is the default target layer: the output of
// the last dense block (256×7×7), the last layer before the pooling.
const FaceExpressionDefaultLayer = "dense3/out"

// FacePreprocess returns the preprocessing of face-api's FaceFeatureExtractor
// (NetInput.toBatchTensor(112, isCenterInputs=true) then normalize): the face
// crop is zero-padded to a centred square (padToSquare; an odd padding puts
// the extra pixel after the image), resized with tf.image.resizeBilinear
// (alignCorners=false, halfPixelCenters=false) to 112×112 unless already that
// size, then (pixel − mean)/255 per RGB channel.
func FacePreprocess() modelfile.Preprocess {
	return modelfile.Preprocess{
		Width:    FaceInputSize,
		Height:   FaceInputSize,
		Channels: "RGB",
		Fit:      "pad-square",
		Resize:   "bilinear-tf",
		Scale:    1,
		Mean:     FaceMeanRGB(),
		Std:      []float32{255, 255, 255},
		Crop:     "square",
	}
}

// ConvertFaceExpression converts face-api's face expression model from its
// weights manifest (JSON) and its single shard (face_expression_model.bin)
// to a CamLens model with float32 weights; provenance records the sha256 of
// the shard.
func ConvertFaceExpression(manifestJSON, bin []byte) (*modelfile.Model, error) {
	man, err := ParseManifest(manifestJSON)
	if err != nil {
		return nil, fmt.Errorf("tfjs: face expression manifest: %w", err)
	}
	w, err := man.Decode(func(p string) ([]byte, error) {
		if p != FaceExpressionWeightsFile {
			return nil, fmt.Errorf("unexpected shard (want %s)", FaceExpressionWeightsFile)
		}
		return bin, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tfjs: face expression weights: %w", err)
	}
	sum := sha256.Sum256(bin)
	return FaceExpressionModel(w, hex.EncodeToString(sum[:]))
}

// FaceExpressionModel builds face-api's FaceExpressionNet from its decoded
// TF.js weights (names as in the manifest, e.g. "dense1/conv2/pointwise_filter")
// with float32 weights in CamLens layouts. binSHA256 is the hex sha256 of
// the weights file, recorded in the provenance. Every expected weight must be
// present with face-api's shape, and no other.
func FaceExpressionModel(w map[string]*tensor.Tensor, binSHA256 string) (*modelfile.Model, error) {
	b := &faceBuilder{src: w, used: map[string]bool{}, weights: map[string]*tensor.Tensor{}}
	spec := b.expressionNet()
	if b.err != nil {
		return nil, b.err
	}
	var extra []string
	for name := range w {
		if !b.used[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("tfjs: face expression weights: unexpected weight %q (%d unexpected)", extra[0], len(extra))
	}
	m := &modelfile.Model{
		Meta: modelfile.Meta{
			Name:  "face-expression",
			Title: "Face expression (face-api)",
			Description: "face-api's FaceExpressionNet: four dense blocks of depthwise-separable " +
				"convolutions (32, 64, 128, 256 channels; 112→7 pixels), a 7×7 average pool and a " +
				"fully connected layer over seven facial expressions. Input: one face, cropped square.",
			Labels:     FaceExpressionLabels(),
			Preprocess: FacePreprocess(),
			Provenance: modelfile.Provenance{
				Source:      "npm @vladmandic/face-api@" + FaceAPIVersion + " model/" + FaceExpressionWeightsFile,
				License:     "MIT",
				Attribution: "Copyright (c) Vladimir Mandic (@vladmandic/face-api, a fork of face-api.js 0.22.2)",
				SHA256:      binSHA256,
				Notes: "Converted by core/tfjs from the TF.js weights (uint8-quantised per tensor, " +
					"dequantised as q·scale + min) following face-api's src/faceFeatureExtractor and " +
					"src/faceExpressionNet.",
			},
			DefaultLayer: FaceExpressionDefaultLayer,
		},
		Graph:   spec,
		Weights: b.weights,
	}
	return m, nil
}

// faceBuilder accumulates nodes and converted weights; the first error sticks.
type faceBuilder struct {
	src     map[string]*tensor.Tensor
	used    map[string]bool
	weights map[string]*tensor.Tensor
	nodes   []nn.NodeSpec
	err     error
}

func (b *faceBuilder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("tfjs: face expression weights: "+format, args...)
	}
}

// take returns the source weight name with exactly the given TF shape.
func (b *faceBuilder) take(name string, shape ...int) *tensor.Tensor {
	t, ok := b.src[name]
	if !ok || t == nil {
		b.fail("missing weight %q", name)
		return nil
	}
	if !tensor.SameShape(t.Shape, shape) {
		b.fail("weight %q has shape %v, face-api expects %v", name, t.Shape, shape)
		return nil
	}
	b.used[name] = true
	return t
}

func (b *faceBuilder) convert(f func(*tensor.Tensor) (*tensor.Tensor, error), t *tensor.Tensor, dst string) {
	if t == nil || b.err != nil {
		return
	}
	c, err := f(t)
	if err != nil {
		b.fail("%s: %v", dst, err)
		return
	}
	b.weights[dst] = c
}

func (b *faceBuilder) add(name, op string, attrs nn.Attrs, inputs ...string) string {
	b.nodes = append(b.nodes, nn.NodeSpec{Name: name, Op: op, Inputs: inputs, Attrs: attrs})
	return name
}

// conv is tf.conv2d(x, filters, stride, 'same') + bias, filters [3,3,cin,cout].
func (b *faceBuilder) conv(prefix, in string, size, cin, cout, stride int) string {
	filters := b.take(prefix+"/filters", 3, 3, cin, cout)
	bias := b.take(prefix+"/bias", cout)
	b.convert(ConvFromHWIO, filters, prefix+".weight")
	if bias != nil {
		b.weights[prefix+".bias"] = bias.Clone()
	}
	return b.add(prefix, "conv2d", nn.Attrs{
		Kernel: []int{3, 3}, Stride: []int{stride, stride},
		Pads: SamePads(size, size, 3, 3, stride, stride),
	}, in)
}

// separable is face-api's depthwiseSeparableConv: tf.separableConv2d(x,
// depthwise [3,3,cin,1], pointwise [1,1,cin,cout], stride, 'same') + bias.
// The depthwise step is node prefix+"/depthwise", the pointwise one (with
// the bias) is node prefix.
func (b *faceBuilder) separable(prefix, in string, size, cin, cout, stride int) string {
	dw := b.take(prefix+"/depthwise_filter", 3, 3, cin, 1)
	pw := b.take(prefix+"/pointwise_filter", 1, 1, cin, cout)
	bias := b.take(prefix+"/bias", cout)
	b.convert(DepthwiseFromHWCM, dw, prefix+"/depthwise.weight")
	b.convert(ConvFromHWIO, pw, prefix+".weight")
	if bias != nil {
		b.weights[prefix+".bias"] = bias.Clone()
	}
	d := b.add(prefix+"/depthwise", "conv2d", nn.Attrs{
		Kernel: []int{3, 3}, Stride: []int{stride, stride}, Group: cin,
		Pads: SamePads(size, size, 3, 3, stride, stride),
	}, in)
	return b.add(prefix, "conv2d", nn.Attrs{Kernel: []int{1, 1}}, d)
}

// denseBlock4 mirrors face-api's denseBlock4 (isScaleDown = true), keeping
// its order of additions and its variable names as node names:
//
//	out1 = relu(conv0(x))                          // stride 2
//	out2 = conv1(out1)
//	in3  = relu(out1 + out2)
//	out3 = conv2(in3)
//	in4  = relu(out1 + (out2 + out3))
//	out4 = conv3(in4)
//	out  = relu(out1 + (out2 + (out3 + out4)))
//
// The conv nodes hold out2..out4 (prefix/conv1..conv3); the sums are
// prefix/sum12, sum23, sum123, sum34, sum234, sum1234. size is the input's
// side; the output's is ceil(size/2).
func (b *faceBuilder) denseBlock4(prefix, x string, size, cin, cout int, first bool) string {
	var c0 string
	if first {
		c0 = b.conv(prefix+"/conv0", x, size, cin, cout, 2)
	} else {
		c0 = b.separable(prefix+"/conv0", x, size, cin, cout, 2)
	}
	size = (size + 1) / 2
	out1 := b.add(prefix+"/out1", "relu", nn.Attrs{}, c0)
	out2 := b.separable(prefix+"/conv1", out1, size, cout, cout, 1)
	s12 := b.add(prefix+"/sum12", "add", nn.Attrs{}, out1, out2)
	in3 := b.add(prefix+"/in3", "relu", nn.Attrs{}, s12)
	out3 := b.separable(prefix+"/conv2", in3, size, cout, cout, 1)
	s23 := b.add(prefix+"/sum23", "add", nn.Attrs{}, out2, out3)
	s123 := b.add(prefix+"/sum123", "add", nn.Attrs{}, out1, s23)
	in4 := b.add(prefix+"/in4", "relu", nn.Attrs{}, s123)
	out4 := b.separable(prefix+"/conv3", in4, size, cout, cout, 1)
	s34 := b.add(prefix+"/sum34", "add", nn.Attrs{}, out3, out4)
	s234 := b.add(prefix+"/sum234", "add", nn.Attrs{}, out2, s34)
	s1234 := b.add(prefix+"/sum1234", "add", nn.Attrs{}, out1, s234)
	return b.add(prefix+"/out", "relu", nn.Attrs{}, s1234)
}

// expressionNet is FaceFeatureExtractor.forwardInput (after normalisation)
// followed by FaceProcessor.runNet's fully connected layer. The softmax of
// FaceExpressionNet.forwardInput is left out: the graph output is the logits.
func (b *faceBuilder) expressionNet() nn.GraphSpec {
	x := "input"
	x = b.denseBlock4("dense0", x, 112, 3, 32, true)
	x = b.denseBlock4("dense1", x, 56, 32, 64, false)
	x = b.denseBlock4("dense2", x, 28, 64, 128, false)
	x = b.denseBlock4("dense3", x, 14, 128, 256, false)
	// tf.avgPool(out, [7, 7], [2, 2], 'valid') on 7×7: one window, the mean.
	x = b.add("pool", "avgpool", nn.Attrs{Kernel: []int{7, 7}, Stride: []int{2, 2}}, x)
	x = b.add("flatten", "flatten", nn.Attrs{Axis: 1}, x)
	fcw := b.take("fc/weights", 256, 7)
	fcb := b.take("fc/bias", 7)
	b.convert(DenseFromInOut, fcw, "fc.weight")
	if fcb != nil {
		b.weights["fc.bias"] = fcb.Clone()
	}
	x = b.add("fc", "dense", nn.Attrs{}, x)
	return nn.GraphSpec{
		Input:  nn.InputSpec{Name: "input", Shape: []int{3, FaceInputSize, FaceInputSize}},
		Nodes:  b.nodes,
		Output: x,
	}
}
