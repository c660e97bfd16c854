package tensor

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestNumElements(t *testing.T) {
	for _, c := range []struct {
		shape []int
		want  int
		err   error
	}{
		{[]int{}, 1, nil},
		{[]int{2, 3, 4}, 24, nil},
		{[]int{0, 5}, 0, nil},
		{[]int{1 << 20, 1 << 20}, 0, ErrTooLarge},
		{[]int{1 << 40, 1 << 40, 1 << 40}, 0, ErrTooLarge},
		{[]int{3, -1}, 0, errors.New("negative")},
	} {
		n, err := NumElements(c.shape)
		switch {
		case c.err == nil && (err != nil || n != c.want):
			t.Errorf("%v: got %d, %v; want %d", c.shape, n, err, c.want)
		case c.err == ErrTooLarge && !errors.Is(err, ErrTooLarge):
			t.Errorf("%v: got %v, want ErrTooLarge", c.shape, err)
		case c.err != nil && err == nil:
			t.Errorf("%v: want an error", c.shape)
		}
	}
}

func TestFromData(t *testing.T) {
	if _, err := FromData([]int{2, 2}, make([]float32, 3)); err == nil {
		t.Fatal("want a length mismatch error")
	}
	x, err := FromData([]int{2, 2}, []float32{1, 2, 3, 4})
	if err != nil || x.Len() != 4 || x.Rank() != 2 {
		t.Fatalf("FromData: %v %v", x, err)
	}
	y := x.Clone()
	y.Data[0] = 9
	if x.Data[0] != 1 {
		t.Fatal("Clone shares data")
	}
}

func TestCheckFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	tests := []struct {
		name string
		data []float32
		bad  int // index named in the error; -1: finite
	}{
		{"finite extremes", []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32}, -1},
		{"NaN", []float32{1, float32(math.NaN()), 2}, 1},
		{"-Inf", []float32{1, -inf, 2}, 1},
		{"+Inf first", []float32{inf, float32(math.NaN())}, 0},
		{"empty", nil, -1},
	}
	for _, tc := range tests {
		x := &Tensor{Shape: []int{len(tc.data)}, Data: tc.data}
		err := x.CheckFinite()
		switch {
		case tc.bad < 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.bad >= 0 && err == nil:
			t.Errorf("%s: not reported", tc.name)
		case tc.bad >= 0 && !strings.Contains(err.Error(), fmt.Sprintf("element %d ", tc.bad)):
			t.Errorf("%s: %v, want element %d", tc.name, err, tc.bad)
		}
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	w := New(3, 2, 2)
	for i := range w.Data {
		w.Data[i] = float32(i%5) - 2.3 + float32(i)*0.01
	}
	for i := 4; i < 8; i++ { // channel 1 all zeros
		w.Data[i] = 0
	}
	q, err := QuantizePerChannel(w)
	if err != nil {
		t.Fatal(err)
	}
	if q.Scale[1] != 0 {
		t.Errorf("zero channel scale %v, want 0", q.Scale[1])
	}
	d := q.Dequantize()
	for i, v := range w.Data {
		ch := i / 4
		if diff := math.Abs(float64(d.Data[i] - v)); diff > float64(q.Scale[ch])/2+1e-7 {
			t.Fatalf("element %d: %v → %v, error %v > scale/2 %v", i, v, d.Data[i], diff, q.Scale[ch]/2)
		}
	}
	for _, v := range q.Q {
		if v < -127 {
			t.Fatalf("q = %d outside [-127,127]", v)
		}
	}
	if _, err := QuantizePerChannel(&Tensor{Shape: []int{1}, Data: []float32{float32(math.NaN())}}); err == nil {
		t.Fatal("NaN weights quantised without error")
	}
}

func ExampleQuantizePerChannel() {
	w, _ := FromData([]int{2, 3}, []float32{0.5, -1, 0.25, 2, 0, -2})
	q, _ := QuantizePerChannel(w)
	fmt.Println(q.Q, q.Scale)
	fmt.Println(q.Dequantize().Data)
	// Output:
	// [64 -127 32 127 0 -127] [0.007874016 0.015748031]
	// [0.503937 -1 0.2519685 2 0 -2]
}

func TestAllFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	specials := []float32{nan, -nan, inf, -inf}
	for n := 0; n <= 9; n++ { // every tail length of the unrolled loop
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i) - 3.5
		}
		if n > 0 {
			x[n-1] = math.MaxFloat32
		}
		if !AllFinite(x) {
			t.Fatalf("AllFinite(%v) = false", x)
		}
		for k := range n {
			for _, s := range specials {
				y := append([]float32(nil), x...)
				y[k] = s
				if AllFinite(y) {
					t.Fatalf("AllFinite(%v) = true", y)
				}
			}
		}
	}
}

func TestFirstNonFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	tests := []struct {
		x    []float32
		want int
	}{
		{nil, -1},
		{[]float32{0, -0.0, 1e-45, -3.4e38, 3.4e38}, -1},
		{[]float32{1, inf}, 1},
		{[]float32{-inf, 1}, 0},
		{[]float32{1, 2, float32(math.NaN())}, 2},
	}
	for _, tc := range tests {
		if got := FirstNonFinite(tc.x); got != tc.want {
			t.Errorf("FirstNonFinite(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
}

func ExampleFirstNonFinite() {
	fmt.Println(FirstNonFinite([]float32{1, 2, float32(math.Inf(-1)), float32(math.NaN())}))
	fmt.Println(FirstNonFinite([]float32{1, 2}))
	// Output:
	// 2
	// -1
}
