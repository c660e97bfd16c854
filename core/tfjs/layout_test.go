package tfjs

import (
	"slices"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

func seq(shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(i)
	}
	return t
}

func TestConvFromHWIO(t *testing.T) {
	// [KH=1, KW=2, IC=2, OC=3]: element (y,x,i,o) = ((y*2+x)*2+i)*3+o.
	got, err := ConvFromHWIO(seq(1, 2, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shape, []int{3, 2, 1, 2}) {
		t.Fatalf("shape %v", got.Shape)
	}
	// out (o,i,y,x) in row-major order over o, i, x (y = 0).
	want := []float32{0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11}
	if !slices.Equal(got.Data, want) {
		t.Fatalf("data %v, want %v", got.Data, want)
	}
	if _, err := ConvFromHWIO(seq(2, 2)); err == nil {
		t.Error("rank 2 accepted")
	}
}

func TestDepthwiseFromHWCM(t *testing.T) {
	// [KH=1, KW=2, C=2, M=2]: element (y,x,c,m) = (x*2+c)*2+m.
	got, err := DepthwiseFromHWCM(seq(1, 2, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shape, []int{4, 1, 1, 2}) {
		t.Fatalf("shape %v", got.Shape)
	}
	// out channel c*M+m, then x.
	want := []float32{0, 4, 1, 5, 2, 6, 3, 7}
	if !slices.Equal(got.Data, want) {
		t.Fatalf("data %v, want %v", got.Data, want)
	}
	if _, err := DepthwiseFromHWCM(seq(3)); err == nil {
		t.Error("rank 1 accepted")
	}
}

func TestDenseFromInOut(t *testing.T) {
	got, err := DenseFromInOut(seq(2, 3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shape, []int{3, 2}) || !slices.Equal(got.Data, []float32{0, 3, 1, 4, 2, 5}) {
		t.Fatalf("got %v %v", got.Shape, got.Data)
	}
	if _, err := DenseFromInOut(seq(2, 3, 1)); err == nil {
		t.Error("rank 3 accepted")
	}
}

func TestSamePads(t *testing.T) {
	cases := []struct {
		h, w, k, s int
		want       []int
	}{
		{112, 112, 3, 2, []int{0, 0, 1, 1}}, // TF puts the odd pixel after
		{7, 7, 3, 1, []int{1, 1, 1, 1}},
		{113, 113, 3, 2, []int{1, 1, 1, 1}},
		{5, 6, 1, 1, []int{0, 0, 0, 0}},
		{6, 5, 5, 2, []int{1, 2, 2, 2}}, // out 3×3: total 3 rows, 4 cols
		{2, 2, 1, 4, []int{0, 0, 0, 0}}, // stride past the input: no padding
	}
	for _, c := range cases {
		if got := SamePads(c.h, c.w, c.k, c.k, c.s, c.s); !slices.Equal(got, c.want) {
			t.Errorf("SamePads(%d×%d, k%d, s%d) = %v, want %v", c.h, c.w, c.k, c.s, got, c.want)
		}
	}
}
