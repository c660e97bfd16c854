package cam

import "strings"

// MethodInfo describes one explanation method.
type MethodInfo struct {
	Name  string // as in Request.Method, e.g. "gradcam++"
	Title string // for people, e.g. "Grad-CAM++"
	// Gradients is true when the method needs a backward pass.
	Gradients bool
	// Slow is true when the method runs a forward pass per channel of the
	// target layer (Score-CAM, Ablation-CAM).
	Slow bool
	// Class is false for the one method that ignores the class (EigenCAM).
	Class bool
	// Counterfactual is true when Request.Counterfactual applies.
	Counterfactual bool
	// Softmax is true when the "softmax" target applies.
	Softmax bool
}

// method is a MethodInfo with its implementation. Exactly one of weights
// and elems is set, except for guided-backprop (neither).
type method struct {
	info MethodInfo
	// weights returns one weight per channel (get_cam_weights).
	weights func(j *job, li int, l *layerData) ([]float32, error)
	// elems returns weighted activations C×h×w; sum names the same
	// elements for sumElems (the fast path when they are only summed).
	elems func(l *layerData) []float32
	sum   elemKind
	// project: the map is always the first principal component of elems
	// (EigenCAM, EigenGradCAM).
	project bool
	// guided multiplies the map by the guided-backprop gradient;
	// guidedOnly is guided backprop alone.
	guided, guidedOnly bool
	// noChannels: eigen-smoothing does not apply.
	noChannels bool
	// noCounterfactual says why Counterfactual does not apply.
	noCounterfactual string
}

func pure(f func(*layerData) []float32) func(*job, int, *layerData) ([]float32, error) {
	return func(_ *job, _ int, l *layerData) ([]float32, error) { return f(l), nil }
}

// methods in display order.
var methodList = []*method{
	{info: MethodInfo{Name: "gradcam", Title: "Grad-CAM", Gradients: true}, weights: pure(gradCAMWeights)},
	{info: MethodInfo{Name: "gradcam++", Title: "Grad-CAM++", Gradients: true}, weights: pure(gradCAMPlusPlusWeights)},
	{info: MethodInfo{Name: "xgradcam", Title: "XGrad-CAM", Gradients: true}, weights: pure(xGradCAMWeights)},
	{info: MethodInfo{Name: "hirescam", Title: "HiResCAM", Gradients: true}, elems: hiResCAMElems, sum: elemHiRes},
	{info: MethodInfo{Name: "gradcam-elementwise", Title: "Grad-CAM element-wise", Gradients: true}, elems: gradCAMElementWiseElems, sum: elemElementWise},
	{info: MethodInfo{Name: "layercam", Title: "LayerCAM", Gradients: true}, elems: layerCAMElems, sum: elemLayerCAM},
	{info: MethodInfo{Name: "eigencam", Title: "EigenCAM"}, elems: func(l *layerData) []float32 { return l.A }, project: true,
		noCounterfactual: "it does not depend on the class"},
	{info: MethodInfo{Name: "eigengradcam", Title: "EigenGrad-CAM", Gradients: true}, elems: hiResCAMElems, project: true},
	{info: MethodInfo{Name: "scorecam", Title: "Score-CAM", Slow: true}, weights: (*job).scoreCAMWeights},
	{info: MethodInfo{Name: "ablationcam", Title: "Ablation-CAM", Slow: true}, weights: (*job).ablationCAMWeights,
		noCounterfactual: "its weights (y − y_k)/y do not change when the target is negated"},
	{info: MethodInfo{Name: "cam", Title: "CAM"}, weights: (*job).camWeights},
	{info: MethodInfo{Name: "counterfactual", Title: "Counterfactual Grad-CAM", Gradients: true}, weights: pure(gradCAMWeights)},
	{info: MethodInfo{Name: "guided-backprop", Title: "Guided Backpropagation", Gradients: true}, guidedOnly: true, noChannels: true},
	{info: MethodInfo{Name: "guided-gradcam", Title: "Guided Grad-CAM", Gradients: true}, weights: pure(gradCAMWeights), guided: true},
}

var methodTable = func() map[string]*method {
	t := make(map[string]*method, len(methodList))
	for _, m := range methodList {
		m.info.Class = m.info.Name != "eigencam"
		m.info.Counterfactual = m.noCounterfactual == ""
		m.info.Softmax = m.info.Name != "cam" && m.info.Name != "eigencam"
		t[m.info.Name] = m
	}
	return t
}()

// Methods lists the explanation methods in display order.
func Methods() []MethodInfo {
	out := make([]MethodInfo, len(methodList))
	for i, m := range methodList {
		out[i] = m.info
	}
	return out
}

func methodNames() string {
	names := make([]string, len(methodList))
	for i, m := range methodList {
		names[i] = m.info.Name
	}
	return strings.Join(names, ", ")
}

// camWeights: the dense row of the class (CAM), negated for a
// counterfactual.
func (j *job) camWeights(li int, _ *layerData) ([]float32, error) {
	w, err := j.s.model.camRow(li, j.class)
	if err != nil {
		return nil, err
	}
	if j.neg {
		for i, v := range w {
			w[i] = -v
		}
	}
	return w, nil
}
