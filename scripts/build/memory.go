package build

import (
	"bytes"
	"errors"
	"fmt"
)

// The wasm binary format's section ids and import kinds that ImportMemory
// reads or writes.
const (
	wasmSectionCustom = 0
	wasmSectionType   = 1
	wasmSectionImport = 2
	wasmSectionMemory = 5
	wasmImportMemory  = 0x02
)

var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// MemoryImport names the memory that ImportMemory makes a module import.
type MemoryImport struct {
	Module, Name string
}

// ImportMemory rewrites a WebAssembly module that defines its one linear
// memory (as Go's js/wasm linker writes it) into one that imports it as
// imp.Module.imp.Name with the same limits, and returns the new binary and
// the memory's minimum size in 64 KiB pages. Everything else is kept byte
// for byte: the memory stays index 0 (imported memories come first in the
// index space), so its export, its data segments and every instruction
// that uses it are unchanged.
//
// Why: a module's own memory exists only once the module is instantiated,
// which is after it has been downloaded and compiled. An imported memory
// can be created, grown and written to while the binary is still
// downloading (web/worker.js does that), so that the page faults of fresh
// memory, costly in a sandboxed browser, are not paid on the critical path.
func ImportMemory(bin []byte, imp MemoryImport) ([]byte, uint32, error) {
	if !bytes.HasPrefix(bin, wasmHeader) {
		return nil, 0, errors.New("import memory: not a WebAssembly 1.0 binary")
	}
	secs, err := wasmSections(bin)
	if err != nil {
		return nil, 0, fmt.Errorf("import memory: %w", err)
	}
	memAt, impAt := -1, -1
	for i, s := range secs {
		switch s.id {
		case wasmSectionMemory:
			if memAt >= 0 {
				return nil, 0, errors.New("import memory: two memory sections")
			}
			memAt = i
		case wasmSectionImport:
			if impAt >= 0 {
				return nil, 0, errors.New("import memory: two import sections")
			}
			impAt = i
		}
	}
	if memAt < 0 {
		return nil, 0, errors.New("import memory: the module defines no memory (already imported?)")
	}
	// The memory section: a vector of exactly one memtype (limits).
	r := wasmReader{b: secs[memAt].body}
	n, err := r.u32()
	if err != nil || n != 1 {
		return nil, 0, fmt.Errorf("import memory: the memory section has %d memories, want 1 (%v)", n, err)
	}
	limStart := r.off
	flags, err := r.byte()
	if err != nil {
		return nil, 0, fmt.Errorf("import memory: memory limits: %w", err)
	}
	if flags != 0x00 && flags != 0x01 {
		return nil, 0, fmt.Errorf("import memory: memory limits flags %#x (shared or 64-bit memories are not supported)", flags)
	}
	min, err := r.u32()
	if err != nil {
		return nil, 0, fmt.Errorf("import memory: memory minimum: %w", err)
	}
	if flags == 0x01 {
		max, err := r.u32()
		if err != nil {
			return nil, 0, fmt.Errorf("import memory: memory maximum: %w", err)
		}
		if max < min {
			return nil, 0, fmt.Errorf("import memory: memory maximum %d < minimum %d", max, min)
		}
	}
	if r.off != len(r.b) {
		return nil, 0, errors.New("import memory: trailing bytes in the memory section")
	}
	limits := secs[memAt].body[limStart:]

	// The import section, with the memory appended (a new one if the
	// module imports nothing).
	var body []byte
	count := uint32(0)
	if impAt >= 0 {
		r := wasmReader{b: secs[impAt].body}
		if count, err = r.u32(); err != nil {
			return nil, 0, fmt.Errorf("import memory: import section: %w", err)
		}
		body = r.b[r.off:] // the entries; the count is rewritten below
		if err := checkImports(&r, count); err != nil {
			return nil, 0, fmt.Errorf("import memory: import section: %w", err)
		}
	}
	entry := appendName(nil, imp.Module)
	entry = appendName(entry, imp.Name)
	entry = append(entry, wasmImportMemory)
	entry = append(entry, limits...)
	newImp := appendU32(nil, count+1)
	newImp = append(newImp, body...)
	newImp = append(newImp, entry...)

	out := append([]byte(nil), wasmHeader...)
	wroteImp := false
	for i, s := range secs {
		switch {
		case i == memAt:
			continue
		case i == impAt:
			out = appendSection(out, wasmSectionImport, newImp)
			wroteImp = true
			continue
		case !wroteImp && impAt < 0 && s.id != wasmSectionCustom && s.id != wasmSectionType:
			// No import section: it goes after the type section, before
			// the first section that must follow it.
			out = appendSection(out, wasmSectionImport, newImp)
			wroteImp = true
		}
		out = append(out, s.raw...)
	}
	if !wroteImp {
		out = appendSection(out, wasmSectionImport, newImp)
	}
	return out, min, nil
}

// checkImports walks count import entries, so that a malformed section is
// an error here rather than a module the browser refuses, and checks that
// none of them is a memory.
func checkImports(r *wasmReader, count uint32) error {
	for i := uint32(0); i < count; i++ {
		if _, err := r.name(); err != nil {
			return fmt.Errorf("import %d: module name: %w", i, err)
		}
		if _, err := r.name(); err != nil {
			return fmt.Errorf("import %d: field name: %w", i, err)
		}
		kind, err := r.byte()
		if err != nil {
			return fmt.Errorf("import %d: %w", i, err)
		}
		switch kind {
		case 0x00: // function: type index
			_, err = r.u32()
		case 0x01: // table: reftype, limits
			if _, err = r.byte(); err == nil {
				err = r.limits()
			}
		case wasmImportMemory:
			return fmt.Errorf("import %d: the module already imports a memory", i)
		case 0x03: // global: valtype, mutability
			if _, err = r.byte(); err == nil {
				_, err = r.byte()
			}
		case 0x04: // tag: attribute, type index
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return fmt.Errorf("import %d: unknown kind %#x", i, kind)
		}
		if err != nil {
			return fmt.Errorf("import %d: %w", i, err)
		}
	}
	if r.off != len(r.b) {
		return errors.New("trailing bytes")
	}
	return nil
}

// wasmSection is one section of a module: its id, its body and its raw
// bytes (id, size and body).
type wasmSection struct {
	id        byte
	body, raw []byte
}

func wasmSections(bin []byte) ([]wasmSection, error) {
	var secs []wasmSection
	r := wasmReader{b: bin, off: len(wasmHeader)}
	for r.off < len(r.b) {
		start := r.off
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section at byte %d: size: %w", start, err)
		}
		if uint64(size) > uint64(len(r.b)-r.off) {
			return nil, fmt.Errorf("section %d at byte %d: size %d runs past the end (%d bytes left)", id, start, size, len(r.b)-r.off)
		}
		body := r.b[r.off : r.off+int(size)]
		r.off += int(size)
		secs = append(secs, wasmSection{id: id, body: body, raw: r.b[start:r.off]})
	}
	return secs, nil
}

// wasmReader reads the binary format's primitives from b at off.
type wasmReader struct {
	b   []byte
	off int
}

var errWasmShort = errors.New("unexpected end")

func (r *wasmReader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errWasmShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// u32 reads an unsigned LEB128 number of at most 5 bytes that fits 32 bits.
func (r *wasmReader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == 4 && c > 0x0f {
			return 0, errors.New("LEB128 number over 32 bits")
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("LEB128 number over 32 bits")
}

func (r *wasmReader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if uint64(n) > uint64(len(r.b)-r.off) {
		return "", errWasmShort
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s, nil
}

func (r *wasmReader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&0x01 != 0 {
		_, err = r.u32()
	}
	return err
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

func appendSection(b []byte, id byte, body []byte) []byte {
	b = append(b, id)
	b = appendU32(b, uint32(len(body)))
	return append(b, body...)
}
