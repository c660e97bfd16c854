//go:build js && wasm

package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"syscall/js"
	"unsafe"

	"github.com/camlens/camlens/core/nn"
)

// SIMD implements nn.Kernels with the WebAssembly SIMD module. It is safe
// for use by several goroutines (calls are serialised: they share one
// scratch buffer).
type SIMD struct {
	gemm, dw, dwGrad      js.Value
	setRows, relu, binary js.Value

	mu      sync.Mutex
	scratch []float32
}

// Load looks up the kernel module's exports in the global GlobalName and
// checks its ABI version. The error says why the module cannot be used.
func Load() (*SIMD, error) {
	exp := js.Global().Get(GlobalName)
	if exp.Type() != js.TypeObject {
		return nil, fmt.Errorf("kernels: the SIMD module is not loaded (no global %s)", GlobalName)
	}
	fn := func(name string) (js.Value, error) {
		f := exp.Get(name)
		if f.Type() != js.TypeFunction {
			return js.Value{}, fmt.Errorf("kernels: the SIMD module has no function %q", name)
		}
		return f, nil
	}
	abi, err := fn("abi")
	if err != nil {
		return nil, err
	}
	if v := abi.Invoke(); v.Type() != js.TypeNumber || v.Int() != ABI {
		return nil, fmt.Errorf("kernels: the SIMD module has ABI %v, this program needs %d (stale kernels.wasm?)", v, ABI)
	}
	k := &SIMD{}
	for _, e := range []struct {
		dst  *js.Value
		name string
	}{
		{&k.gemm, "gemm"}, {&k.dw, "dw3x3"}, {&k.dwGrad, "dw3x3grad"},
		{&k.setRows, "setrows"}, {&k.relu, "relu"}, {&k.binary, "binary"},
	} {
		if *e.dst, err = fn(e.name); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// New returns the SIMD kernels when the module is loaded, else the pure-Go
// kernels.
func New() nn.Kernels {
	if k, err := Load(); err == nil {
		return k
	}
	return nn.GoKernels{}
}

// Available reports whether Load would succeed, and if not, why.
func Available() error {
	_, err := Load()
	return err
}

// String names the implementation.
func (k *SIMD) String() string { return "wasm-simd" }

// addr is the byte offset of s's first element in the Go instance's
// memory (0 for an empty slice, which the module then does not read).
func addr(s []float32) int {
	if len(s) == 0 {
		return 0
	}
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(s))))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Gemm implements nn.Kernels.
func (k *SIMD) Gemm(m, n, kk int, a, b, c []float32, accumulate bool) {
	if err := checkGemm(m, n, kk, len(a), len(b), len(c)); err != nil {
		panic(err.Error())
	}
	if m == 0 || n == 0 {
		return
	}
	if kk == 0 {
		if !accumulate {
			clear(c[:m*n])
		}
		return
	}
	k.gemm.Invoke(m, n, kk, addr(a), addr(b), addr(c), b2i(accumulate))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
}

// Depthwise3x3 implements nn.Kernels.
func (k *SIMD) Depthwise3x3(g nn.Depthwise3x3Geom, x, f, bias, y []float32) {
	need, err := checkDW(g, len(x), len(f), len(y), false)
	if err != nil {
		panic(err.Error())
	}
	if bias != nil && len(bias) < g.Planes {
		panic(fmt.Sprintf("kernels: depthwise 3×3: bias has %d values for %d planes", len(bias), g.Planes))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.scratchFor(need)
	k.dw.Invoke(g.Planes, g.Mult, g.H, g.W, g.OH, g.OW, g.SH, g.SW, g.PadTop, g.PadLeft,
		addr(x), addr(f), addr(bias), b2i(bias != nil), addr(y), addr(s))
	runtime.KeepAlive(x)
	runtime.KeepAlive(f)
	runtime.KeepAlive(bias)
	runtime.KeepAlive(y)
}

// Depthwise3x3Grad implements nn.Kernels.
func (k *SIMD) Depthwise3x3Grad(g nn.Depthwise3x3Geom, f, gy, gx []float32) {
	need, err := checkDW(g, len(gx), len(f), len(gy), true)
	if err != nil {
		panic(err.Error())
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.scratchFor(need)
	k.dwGrad.Invoke(g.Planes, g.Mult, g.H, g.W, g.OH, g.OW, g.SH, g.SW, g.PadTop, g.PadLeft,
		addr(f), addr(gy), addr(gx), addr(s))
	runtime.KeepAlive(f)
	runtime.KeepAlive(gy)
	runtime.KeepAlive(gx)
}

// SetRows implements nn.Kernels.
func (k *SIMD) SetRows(y, v []float32, n int) {
	if err := checkRows(len(v), n, len(y)); err != nil {
		panic(err.Error())
	}
	if len(v) == 0 || n == 0 {
		return
	}
	k.setRows.Invoke(len(v), n, addr(v), addr(y))
	runtime.KeepAlive(v)
	runtime.KeepAlive(y)
}

// Relu implements nn.Kernels.
func (k *SIMD) Relu(y, x []float32) {
	if err := checkElem("relu", len(y), len(x), len(x)); err != nil {
		panic(err.Error())
	}
	if len(y) == 0 {
		return
	}
	k.relu.Invoke(len(y), addr(x), addr(y))
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
}

// Binary implements nn.Kernels.
func (k *SIMD) Binary(op nn.BinaryOp, y, a, b []float32) {
	if op != nn.OpAdd && op != nn.OpSub && op != nn.OpMul {
		panic(fmt.Sprintf("kernels: binary: unknown operation %d", op))
	}
	if err := checkElem("binary", len(y), len(a), len(b)); err != nil {
		panic(err.Error())
	}
	if len(y) == 0 {
		return
	}
	k.binary.Invoke(int(op), len(y), addr(a), addr(b), addr(y))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(y)
}

// scratchFor returns a scratch buffer of at least n float32 (k.mu held).
func (k *SIMD) scratchFor(n int) []float32 {
	if len(k.scratch) < n {
		k.scratch = make([]float32, n)
	}
	return k.scratch[:n]
}
