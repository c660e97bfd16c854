// Package imaging turns untrusted image bytes into network input tensors and
// explanation maps back into pictures.
//
// It covers the whole pixel path of CamLens:
//
//   - Decode, DecodeConfig: PNG, JPEG, GIF (first frame), BMP and WebP,
//     recognised by magic number, with width·height checked from the header
//     before any pixel buffer is allocated (MaxPixels, ErrTooLarge) and
//     clear errors for common non-images (ErrFormat: "looks like a PDF
//     document"). JPEG EXIF orientation is applied. JPEG and lossy WebP are
//     converted to RGB like libjpeg and libwebp do (interpolated chroma;
//     video-range Y'CbCr for WebP), so pixels agree with PIL and browsers.
//   - ToTensor: crop, fit (stretch, pad-square, center-crop), resize
//     (bilinear with half-pixel centres, TensorFlow's legacy bilinear,
//     area), channel order (RGB, BGR, luma) and normalisation, as described
//     by modelfile.Preprocess, all in float32 on 0..255 values.
//     InputGeometry reports which image region feeds the network so a map
//     can be drawn back over the image.
//   - ResizePlane: resizing of float32 maps: OpenCV INTER_LINEAR
//     (half-pixel centres), PyTorch align_corners=True, TensorFlow legacy
//     bilinear, or area averaging.
//   - Colormaps (jet exactly as OpenCV's COLORMAP_JET, turbo, viridis,
//     inferno), Heatmap, Overlay and EncodePNG.
//
// The test references come from the real libraries (OpenCV, PyTorch, PIL,
// face-api on tfjs); the scripts that made them are in testdata/. The
// package holds no global mutable state and builds for js/wasm.
package imaging
