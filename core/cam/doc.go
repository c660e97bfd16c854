// Package cam explains image classifiers: Grad-CAM and its family, with
// pytorch-grad-cam's numerics.
//
// A Model (NewModel) is a built network with labels and candidate target
// layers; it is immutable and shared. A Session (Model.NewSession) holds one
// image: its forward pass runs once, and every explanation of that image
// reuses it. Gradients are cached per (class, target, layer), so switching
// the method on the same class costs no backward pass, and switching class
// costs one backward pass that stops at the target layer.
//
// Each method is a short function in the library's shape: Grad-CAM's
// channel weights are the spatial mean of the gradients; Grad-CAM++,
// XGrad-CAM, CAM, Score-CAM and Ablation-CAM give other channel weights;
// HiResCAM, Grad-CAM element-wise and LayerCAM weight each activation;
// EigenCAM and EigenGrad-CAM take a first principal component. The map of
// a layer is then post-processed exactly as pytorch-grad-cam does: ReLU,
// min-max normalisation (eps 1e-7), bilinear upsampling to the input size
// with half-pixel centres (OpenCV INTER_LINEAR); several layers are
// averaged; a final min-max gives a map in [0, 1]. A map with no positive
// value becomes all zeros, never NaN.
//
// Targets: the raw logit of a class (default: the top class) or its
// softmax probability, optionally negated (Request.Counterfactual: the
// regions that speak against the class). Guided Backpropagation and Guided
// Grad-CAM run the backward pass with guided ReLUs (nn.Context.Guided).
//
// Every method is checked against pytorch-grad-cam's own outputs on the
// reference networks of core/internal/gradcamref.
package cam
