// Package imaging turns untrusted image bytes into network input tensors and
// explanation maps back into pictures.
//
// It covers the whole pixel path of CamLens:
//
//   - Decode: PNG, JPEG, GIF, BMP and WebP with the pixel count checked from
//     the header before any pixel buffer is allocated (MaxPixels).
//   - ToTensor: crop, fit (stretch, pad-square, center-crop), resize
//     (bilinear with half-pixel centres, TensorFlow's legacy bilinear, area),
//     channel order (RGB, BGR, luma) and normalisation, as described by
//     modelfile.Preprocess. Geometry reports which image region feeds the
//     network so a map can be drawn back over the image.
//   - ResizePlane: resizing of float32 maps, with OpenCV INTER_LINEAR
//     (half-pixel) or PyTorch align_corners=True sampling.
//   - Colormaps (jet, turbo, viridis, inferno), Heatmap, Overlay and
//     EncodePNG.
//
// All arithmetic is float32 on 0..255 pixel values; nothing is rounded back to
// 8 bits between steps. The package holds no global mutable state and builds
// for js/wasm.
package imaging
