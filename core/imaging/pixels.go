package imaging

import (
	"image"
	"image/color"
)

// pixelReader converts rows of an image region to float32 planes of 0..255
// values: R, G, B (un-premultiplied, as PIL's convert("RGB") keeps the
// stored colour of transparent pixels), or one luma plane.
type pixelReader struct {
	img  image.Image
	r    image.Rectangle
	luma bool
}

func newPixelReader(img image.Image, r image.Rectangle, luma bool) *pixelReader {
	return &pixelReader{img: img, r: r, luma: luma}
}

// lumaOf is ITU-R 601 luma as in PIL's convert("L"), in float32 and
// without PIL's rounding to 8 bits: (299R + 587G + 114B)/1000.
func lumaOf(r, g, b float32) float32 {
	return (299*r + 587*g + 114*b) / 1000
}

// row fills planes[c][0:r.Dx()] with row y (relative to r.Min.Y).
func (p *pixelReader) row(y int, planes [][]float32) {
	y += p.r.Min.Y
	x0, w := p.r.Min.X, p.r.Dx()
	put := func(x int, r, g, b float32) {
		if p.luma {
			planes[0][x] = lumaOf(r, g, b)
			return
		}
		planes[0][x], planes[1][x], planes[2][x] = r, g, b
	}
	switch m := p.img.(type) {
	case *image.NRGBA:
		s := m.Pix[m.PixOffset(x0, y):]
		rowRGBA(planes, s[:4*w], p.luma, false)
	case *image.RGBA:
		s := m.Pix[m.PixOffset(x0, y):]
		rowRGBA(planes, s[:4*w], p.luma, true)
	case *image.Gray:
		s := m.Pix[m.PixOffset(x0, y):]
		for x := range w {
			v := float32(s[x])
			if p.luma {
				planes[0][x] = v
			} else {
				planes[0][x], planes[1][x], planes[2][x] = v, v, v
			}
		}
	case *image.YCbCr:
		for x := range w {
			yi, ci := m.YOffset(x0+x, y), m.COffset(x0+x, y)
			r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			put(x, float32(r), float32(g), float32(b))
		}
	case *image.NYCbCrA: // non-premultiplied: the colour ignores alpha
		for x := range w {
			yi, ci := m.YOffset(x0+x, y), m.COffset(x0+x, y)
			r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			put(x, float32(r), float32(g), float32(b))
		}
	case *image.Paletted:
		s := m.Pix[m.PixOffset(x0, y):]
		var pal [256][3]float32
		var ok [256]bool
		for x := range w {
			i := s[x]
			if !ok[i] {
				pal[i] = nrgbFloat(paletteColor(m.Palette, i))
				ok[i] = true
			}
			put(x, pal[i][0], pal[i][1], pal[i][2])
		}
	default:
		for x := range w {
			c := nrgbFloat(p.img.At(x0+x, y))
			put(x, c[0], c[1], c[2])
		}
	}
}

// rowRGBA converts one row of 8-bit RGBA (premul: alpha-premultiplied, as
// image.RGBA; else as image.NRGBA) to the planes, as row does. A leaf
// function, so that the loop of the common formats stays out of row's
// format switch: in js/wasm every loop back-edge costs V8's tier-up budget
// in proportion to the size of the function it is in.
//
//go:noinline
func rowRGBA(planes [][]float32, s []byte, luma, premul bool) {
	w := len(s) / 4
	if luma {
		l := planes[0][:w]
		for x := range l {
			px := s[4*x : 4*x+4 : 4*x+4]
			if premul && px[3] != 255 {
				l[x] = lumaOf(unpremultiply(px))
				continue
			}
			l[x] = lumaOf(float32(px[0]), float32(px[1]), float32(px[2]))
		}
		return
	}
	pr, pg, pb := planes[0][:w], planes[1][:w], planes[2][:w]
	for x := range pr {
		px := s[4*x : 4*x+4 : 4*x+4]
		if premul && px[3] != 255 {
			pr[x], pg[x], pb[x] = unpremultiply(px)
			continue
		}
		pr[x], pg[x], pb[x] = float32(px[0]), float32(px[1]), float32(px[2])
	}
}

// unpremultiply returns the colour of an alpha-premultiplied RGBA pixel
// that is not opaque, un-premultiplied.
func unpremultiply(px []byte) (r, g, b float32) {
	c := color.NRGBAModel.Convert(color.RGBA{px[0], px[1], px[2], px[3]}).(color.NRGBA)
	return float32(c.R), float32(c.G), float32(c.B)
}

// paletteColor returns palette entry i, or opaque black for an index past
// the palette's end (a malformed image).
func paletteColor(pal color.Palette, i uint8) color.Color {
	if int(i) < len(pal) {
		return pal[i]
	}
	return color.Black
}

// nrgbFloat returns a colour's un-premultiplied R, G, B on 0..255 (16-bit
// sources keep their fraction).
func nrgbFloat(c color.Color) [3]float32 {
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]float32{float32(n.R) / 257, float32(n.G) / 257, float32(n.B) / 257}
}
