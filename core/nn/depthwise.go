package nn

// Depthwise conv2d (one input channel per group, G == C, OC = mult·C), the
// direct loops for any kernel size, stride and dilation. The 3×3 case with
// dilation 1 goes through Kernels.Depthwise3x3 instead (kernels.go).
//
//	x [C, H, W], weight [OC, 1, KH, KW] → y [OC, OH, OW], input plane of o: o/mult
//	y[o][oy][ox] = bias[o] + Σ_{i,j} w[o][i][j] · x[o/mult][oy·sh−top+i·dh][ox·sw−left+j·dw]
//
// Both directions run tap by tap over whole output rows: for a tap (i, j)
// the valid output columns form one range (span), so the inner loop is an
// axpy over a row (conv.go).

// depthwiseForward computes one image: x [C][H][W] → y [OC][OH][OW].
func (op *convOp) depthwiseForward(g convGeom, x, y []float32) {
	hw, ohw, kk := g.h*g.w, g.oh*g.ow, op.kh*op.kw
	for o := 0; o < op.oc; o++ {
		xp := x[(o/op.ocg)*hw : (o/op.ocg+1)*hw]
		yp := y[o*ohw : (o+1)*ohw]
		var b float32
		if op.bias != nil {
			b = op.bias[o]
		}
		fill(yp, b)
		f := op.w[o*kk : (o+1)*kk]
		for oy := 0; oy < g.oh; oy++ {
			yr := yp[oy*g.ow : (oy+1)*g.ow]
			for i := 0; i < op.kh; i++ {
				iy := oy*op.sh - op.pt + i*op.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				xr := xp[iy*g.w : (iy+1)*g.w]
				for j := 0; j < op.kw; j++ {
					off := j*op.dw - op.pl
					lo, hi := span(g.w, g.ow, op.sw, off)
					if lo >= hi {
						continue
					}
					if op.sw == 1 {
						axpy(yr[lo:hi], xr[lo+off:hi+off], f[i*op.kw+j])
						continue
					}
					axpyGather(yr[lo:hi], xr[lo*op.sw+off:], op.sw, f[i*op.kw+j])
				}
			}
		}
	}
}

// depthwiseBackward adds the gradient for one image: gy [OC][OH][OW] →
// gx [C][H][W] (the transpose of depthwiseForward without the bias).
func (op *convOp) depthwiseBackward(g convGeom, gy, gx []float32) {
	hw, ohw, kk := g.h*g.w, g.oh*g.ow, op.kh*op.kw
	for o := 0; o < op.oc; o++ {
		gxp := gx[(o/op.ocg)*hw : (o/op.ocg+1)*hw]
		gyp := gy[o*ohw : (o+1)*ohw]
		f := op.w[o*kk : (o+1)*kk]
		for oy := 0; oy < g.oh; oy++ {
			gr := gyp[oy*g.ow : (oy+1)*g.ow]
			for i := 0; i < op.kh; i++ {
				iy := oy*op.sh - op.pt + i*op.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				xr := gxp[iy*g.w : (iy+1)*g.w]
				for j := 0; j < op.kw; j++ {
					off := j*op.dw - op.pl
					lo, hi := span(g.w, g.ow, op.sw, off)
					if lo >= hi {
						continue
					}
					if op.sw == 1 {
						axpy(xr[lo+off:hi+off], gr[lo:hi], f[i*op.kw+j])
						continue
					}
					axpyStrided(xr[lo*op.sw+off:], gr[lo:hi], op.sw, f[i*op.kw+j])
				}
			}
		}
	}
}
