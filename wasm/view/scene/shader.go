package scene

// Shader is the Kage program that draws a map over the base image. Image 0
// is the map packed by Pack16, image 1 the 256×1 colormap. It interpolates
// the map bilinearly (half-pixel centres, edge clamp: the same rule as the
// core's upsampling), looks the colour up as OpenCV's applyColorMap does
// for uint8(255·v) — entry floor(255·v) — and returns it premultiplied by
// Alpha, so that source-over blending gives (1−Alpha)·base + Alpha·colour,
// the blend of pytorch-grad-cam's show_cam_on_image. Opacity and colormap
// are uniforms and a texture: changing them costs one draw, no
// recomputation.
const Shader = `//kage:unit pixels

package main

var Alpha float

func mapAt(p vec2) float {
	c := imageSrc0UnsafeAt(imageSrc0Origin() + p + 0.5)
	return (c.r*65280.0 + c.g*255.0) / 65535.0
}

func Fragment(dstPos vec4, srcPos vec2, color vec4) vec4 {
	size := imageSrc0Size()
	p := srcPos - imageSrc0Origin() - 0.5
	p0 := floor(p)
	f := p - p0
	a := clamp(p0, vec2(0), size-1.0)
	b := clamp(p0+1.0, vec2(0), size-1.0)
	top := mix(mapAt(a), mapAt(vec2(b.x, a.y)), f.x)
	bottom := mix(mapAt(vec2(a.x, b.y)), mapAt(b), f.x)
	v := mix(top, bottom, f.y)
	i := clamp(floor(v*255.0), 0.0, 255.0)
	c := imageSrc1UnsafeAt(imageSrc0Origin() + vec2(i+0.5, 0.5))
	return vec4(c.rgb*Alpha, Alpha)
}
`
