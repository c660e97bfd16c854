package imaging

import (
	"image"
	"math"
)

// Y'CbCr → RGB matrices.
type ycbcrMatrix struct {
	yOff, yMul         float32 // luma: (Y − yOff)·yMul
	crR, cbG, crG, cbB float32 // chroma terms on (C − 128)
}

var (
	// jfif is full-range BT.601 as JPEG (JFIF) defines it; Go's
	// color.YCbCrToRGB is a fixed-point version of the same.
	jfif = ycbcrMatrix{0, 1, 1.402, 0.344136, 0.714136, 1.772}
	// bt601Limited is video-range BT.601 (Y 16..235, C 16..240), which
	// lossy WebP (VP8) uses. golang.org/x/image/webp returns these samples
	// as an image.YCbCr, whose conversion assumes full range; converting
	// them as JFIF lifts blacks and dims whites (golang/go#40173).
	bt601Limited = ycbcrMatrix{16, 255.0 / 219, 1.402 * 255 / 224, 0.344136 * 255 / 224, 0.714136 * 255 / 224, 1.772 * 255 / 224}
)

// ycbcrToNRGBA converts m to RGB with "fancy" chroma upsampling: chroma
// samples are interpolated bilinearly at each pixel's position (centred
// siting, edges clamped) instead of replicated as image.YCbCr.At does. For
// 4:2:0 this is the 9/16, 3/16, 3/16, 1/16 triangle filter of libjpeg's
// and libwebp's default decoders, so results agree with PIL and browsers
// to within rounding and IDCT differences. alpha, when not nil, is copied
// into the result (non-premultiplied, as in image.NYCbCrA).
func ycbcrToNRGBA(m *image.YCbCr, alpha []uint8, alphaStride int, mat ycbcrMatrix) *image.NRGBA {
	b := m.Rect
	out := image.NewNRGBA(b)
	if b.Empty() {
		return out
	}
	fx, fy := chromaFactors(m.SubsampleRatio)
	// Chroma plane extent: sample j covers pixels [j·fx, (j+1)·fx) in
	// absolute coordinates; cx0 is the first stored sample.
	cx0, cy0 := floorDiv(b.Min.X, fx), floorDiv(b.Min.Y, fy)
	cx1, cy1 := floorDiv(b.Max.X-1, fx), floorDiv(b.Max.Y-1, fy)
	// Horizontal taps per column, shared by all rows.
	type ctap struct {
		i0, i1 int
		w1     float32
	}
	tapFor := func(p, f, lo, hi int) ctap {
		if f == 1 {
			return ctap{p - lo, p - lo, 0}
		}
		c := (float64(p)+0.5)/float64(f) - 0.5
		i := int(math.Floor(c))
		w := float32(c - float64(i))
		i0, i1 := min(max(i, lo), hi), min(max(i+1, lo), hi)
		return ctap{i0 - lo, i1 - lo, w}
	}
	xt := make([]ctap, b.Dx())
	for x := range xt {
		xt[x] = tapFor(b.Min.X+x, fx, cx0, cx1)
	}
	clamp8 := func(v float32) uint8 {
		v = float32(math.Round(float64(v)))
		return uint8(min(max(v, 0), 255))
	}
	for y := range b.Dy() {
		yt := tapFor(b.Min.Y+y, fy, cy0, cy1)
		row0, row1 := yt.i0*m.CStride, yt.i1*m.CStride
		lum := m.Y[(y)*m.YStride:]
		o := out.Pix[y*out.Stride:]
		for x, t := range xt {
			cb := lerp2(m.Cb, row0, row1, t.i0, t.i1, t.w1, yt.w1) - 128
			cr := lerp2(m.Cr, row0, row1, t.i0, t.i1, t.w1, yt.w1) - 128
			l := (float32(lum[x]) - mat.yOff) * mat.yMul
			o[4*x] = clamp8(l + mat.crR*cr)
			o[4*x+1] = clamp8(l - mat.cbG*cb - mat.crG*cr)
			o[4*x+2] = clamp8(l + mat.cbB*cb)
			o[4*x+3] = 255
			if alpha != nil {
				o[4*x+3] = alpha[y*alphaStride+x]
			}
		}
	}
	return out
}

// lerp2 interpolates a chroma plane bilinearly between two rows and two
// columns.
func lerp2(p []uint8, row0, row1, i0, i1 int, wx, wy float32) float32 {
	top := float32(p[row0+i0])*(1-wx) + float32(p[row0+i1])*wx
	if wy == 0 {
		return top
	}
	bot := float32(p[row1+i0])*(1-wx) + float32(p[row1+i1])*wx
	return top*(1-wy) + bot*wy
}

func chromaFactors(r image.YCbCrSubsampleRatio) (fx, fy int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
