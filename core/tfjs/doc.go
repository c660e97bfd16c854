// Package tfjs imports TensorFlow.js weights into CamLens models.
//
// A TF.js weights manifest (model-weights_manifest.json) lists groups of
// weights; each group's tensors are stored back to back, in manifest order,
// in the concatenation of the group's shard files. A tensor is either raw
// float32 (little-endian) or quantised: uint8 or uint16 codes q with
// value = q·scale + min, one scale and min per tensor. ParseManifest checks
// the manifest (names, shapes, dtypes, sizes, limits) and Manifest.Decode
// reads the shards into float32 tensors, checking every size before it
// allocates.
//
// The package also rebuilds face-api's networks (github.com/vladmandic/face-api,
// MIT) as nn.GraphSpec graphs with the weights converted from TF.js's NHWC
// layouts to CamLens's NCHW/OIHW ones. FaceExpressionModel is face-api's
// FaceExpressionNet: the FaceFeatureExtractor (four dense blocks of
// separable convolutions) followed by a 7×7 average pool and a fully
// connected layer over seven expressions. Node names follow face-api's
// parameter names ("dense0/conv0", "dense3/conv2", …) so that the layer list
// reads like the original code.
package tfjs
