// Package metrics measures whether an explanation map tells the truth about
// the model: faithfulness metrics that perturb the image in the order the
// map gives and watch the class score, localisation metrics against a
// ground-truth box, and the model-randomisation sanity check.
//
// Every perturbation metric scores an image by the softmax probability of
// one class and runs its perturbed images through the session's network in
// batches (Options.Batch, bounded by an activation-memory budget). A map is
// H×W row-major at the network's input size (cam.Result.Map). Pixels are
// ranked by decreasing map value; ties are broken by a pseudo-random
// permutation drawn from Options.Seed, so a map with a plateau (Grad-CAM's
// zeros after the ReLU) is not ranked in row-major order and every run is
// reproducible. A "pixel" is one spatial position with all its channels.
//
// Metrics and the choices made:
//
//   - DeletionInsertion (RISE, Petsiuk et al. 2018): deletion replaces the
//     top-ranked pixels of the input tensor by zeros (RISE's substrate,
//     torch.zeros_like of the preprocessed tensor: the dataset mean for a
//     normalised input; Options.Fill picks another value, e.g. black);
//     insertion starts from a blurred copy of the input
//     (RISE's gkern(11, 5): an 11×11 Gaussian of σ 5 as scipy's
//     gaussian_filter makes it, applied per channel with zero padding) and
//     puts the original pixels back in map order. Step k of Steps changes
//     ⌊k·HW/Steps⌋ pixels; a curve has Steps+1 points and its AUC is the
//     trapezoidal area over the fraction of pixels changed (RISE's
//     normalised auc). Low deletion AUC and high insertion AUC are good.
//   - ConfidenceKeepTop and ConfidenceCAMMult (pytorch-grad-cam's
//     CamMultImageConfidenceChange, DropInConfidence, IncreaseInConfidence):
//     the change of the class probability when only the top fraction of the
//     map is kept (the rest of the tensor set to zero), or when the tensor
//     is multiplied by the map.
//   - ROAD (Rong et al. 2022, "A consistent and efficient evaluation
//     strategy for attribution methods"): remove a fraction of the pixels,
//     most relevant first (MoRF) or least relevant first (LeRF), and impute
//     them with NoisyLinearImpute: each removed pixel becomes the weighted
//     mean of its 8 neighbours (weights 1/6 for the 4 direct, 1/12 for the
//     diagonal neighbours, renormalised at the border, as the ROAD reference
//     implementation and pytorch-grad-cam's NoisyLinearImputer), solved as
//     one sparse linear system per channel (preconditioned conjugate
//     gradients in float64), plus Gaussian noise of σ 0.01. Exactly
//     round(f·HW) pixels are removed for a fraction f (the references
//     threshold at a percentile, which removes whole plateaus). The default
//     fractions are 0.1…0.9, pytorch-grad-cam's percentiles.
//   - PointingGame and IoU (Zhang et al. 2016; Grad-CAM, Selvaraju et al.
//     2017, §4.1): a hit when the map's peak lies in the ground-truth box
//     (with an optional tolerance in pixels; the papers use 15 at 224×224);
//     the map's box is cam.Box: threshold at 15 % of the maximum, bounding
//     box of the largest connected region.
//   - SanityCheck (Adebayo et al. 2018, cascading randomisation): the
//     learned layers are re-drawn one at a time from the output down and
//     the map is recomputed for the same class after each; Spearman's rank
//     correlation with the original map says how much it changed. A method
//     whose map keeps a high correlation is not explaining the model.
//   - RandomMap and CenterMap are the baselines any method must beat.
//
// Evaluate runs all of them for one map (the function the web worker
// calls); scripts/evaluate aggregates them over a data set.
package metrics
