package build

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// testModule assembles a small module: a type () → i32, optionally an
// import of env.f, a function get that loads the i32 at 65536, the memory
// (limits as given), exports mem and get, a data segment writing 42 at
// 65536, and, optionally, a custom section right after the type section.
func testModule(withImport, withCustom bool, limits []byte) []byte {
	sec := func(id byte, body ...byte) []byte { return appendSection(nil, id, body) }
	m := append([]byte(nil), wasmHeader...)
	m = append(m, sec(wasmSectionType, 0x01, 0x60, 0x00, 0x01, 0x7f)...)
	if withCustom {
		m = append(m, sec(wasmSectionCustom, append(appendName(nil, "note"), 1, 2, 3)...)...)
	}
	getIndex := byte(0)
	if withImport {
		imp := appendU32(nil, 1)
		imp = appendName(imp, "env")
		imp = appendName(imp, "f")
		imp = append(imp, 0x00, 0x00)
		m = append(m, sec(wasmSectionImport, imp...)...)
		getIndex = 1
	}
	m = append(m, sec(3, 0x01, 0x00)...) // function: one of type 0
	m = append(m, sec(wasmSectionMemory, append([]byte{0x01}, limits...)...)...)
	exp := appendU32(nil, 2)
	exp = append(appendName(exp, "mem"), 0x02, 0x00)
	exp = append(appendName(exp, "get"), 0x00, getIndex)
	m = append(m, sec(7, exp...)...)
	body := []byte{0x00, 0x41, 0x80, 0x80, 0x04, 0x28, 0x02, 0x00, 0x0b} // no locals; i32.load (i32.const 65536); end
	m = append(m, sec(10, append([]byte{0x01, byte(len(body))}, body...)...)...)
	data := []byte{0x01, 0x00, 0x41, 0x80, 0x80, 0x04, 0x0b, 0x04, 42, 0, 0, 0} // active, memory 0, at 65536
	m = append(m, sec(11, data...)...)
	return append(m, sec(wasmSectionCustom, appendName(nil, "name")...)...)
}

func TestImportMemory(t *testing.T) {
	imp := MemoryImport{Module: "camlens", Name: "mem"}
	cases := []struct {
		name                 string
		withImport, withCust bool
		limits               []byte
		min                  uint32
		imports              int // entries in the rewritten import section
	}{
		{"after a function import", true, false, []byte{0x00, 0x02}, 2, 2},
		{"no import section", false, false, []byte{0x00, 0x02}, 2, 1},
		{"no import section, custom section after the types", false, true, []byte{0x00, 0x02}, 2, 1},
		{"with a maximum", true, true, []byte{0x01, 0x02, 0x05}, 2, 2},
		{"a minimum of several LEB128 bytes", true, false, []byte{0x00, 0x80, 0x01}, 128, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := testModule(c.withImport, c.withCust, c.limits)
			out, min, err := ImportMemory(in, imp)
			if err != nil {
				t.Fatal(err)
			}
			if min != c.min {
				t.Errorf("minimum %d pages, want %d", min, c.min)
			}
			inSecs, err := wasmSections(in)
			if err != nil {
				t.Fatal(err)
			}
			outSecs, err := wasmSections(out)
			if err != nil {
				t.Fatalf("the output does not parse: %v", err)
			}
			// Every section but memory and import is kept byte for byte,
			// in order; the import section follows the type section (and
			// any custom sections after it) and precedes the others.
			var kept [][]byte
			for _, s := range inSecs {
				if s.id != wasmSectionMemory && s.id != wasmSectionImport {
					kept = append(kept, s.raw)
				}
			}
			var got [][]byte
			var ids []byte
			var impBody []byte
			for _, s := range outSecs {
				ids = append(ids, s.id)
				switch s.id {
				case wasmSectionMemory:
					t.Error("the output still has a memory section")
				case wasmSectionImport:
					impBody = s.body
				default:
					got = append(got, s.raw)
				}
			}
			if len(got) != len(kept) {
				t.Fatalf("%d other sections, want %d", len(got), len(kept))
			}
			for i := range got {
				if !bytes.Equal(got[i], kept[i]) {
					t.Errorf("section %d changed", i)
				}
			}
			last := byte(0)
			for _, id := range ids {
				if id == wasmSectionCustom {
					continue
				}
				if id <= last {
					t.Errorf("section order %v", ids)
				}
				last = id
			}
			r := wasmReader{b: impBody}
			n, err := r.u32()
			if err != nil || int(n) != c.imports {
				t.Fatalf("%d imports (%v), want %d", n, err, c.imports)
			}
			for i := 0; i < c.imports-1; i++ {
				r.name()
				r.name()
				r.byte()
				r.u32()
			}
			mod, _ := r.name()
			name, _ := r.name()
			kind, _ := r.byte()
			if mod != imp.Module || name != imp.Name || kind != wasmImportMemory {
				t.Errorf("last import %s.%s kind %#x, want %s.%s memory", mod, name, kind, imp.Module, imp.Name)
			}
			if lim := impBody[r.off:]; !bytes.Equal(lim, c.limits) {
				t.Errorf("limits % x, want % x", lim, c.limits)
			}
			if _, _, err := ImportMemory(out, imp); err == nil {
				t.Error("rewriting the output again succeeded; want an error (it defines no memory)")
			}
			runModule(t, out, c.min, c.limits[0] == 0x01)
		})
	}
}

// runModule instantiates the rewritten module in Node, when it is
// installed, with a memory of min pages: the export is that memory, the
// data segment landed in it and get reads it; a memory one page smaller
// is refused.
func runModule(t *testing.T, mod []byte, min uint32, hasMax bool) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatalf("CAMLENS_REQUIRE_DEPS=1: node is not installed: %v", err)
		}
		t.Logf("node is not installed: the rewritten module is not run")
		return
	}
	max := ""
	if hasMax {
		max = ", maximum: 5"
	}
	script := `
const bytes = Buffer.from(process.argv[1], "base64");
const min = Number(process.argv[2]);
const mod = new WebAssembly.Module(bytes);
const mem = new WebAssembly.Memory({ initial: min` + max + ` });
const inst = new WebAssembly.Instance(mod, { env: { f: () => 0 }, camlens: { mem } });
if (inst.exports.mem !== mem) throw new Error("the exported memory is not the imported one");
if (inst.exports.get() !== 42 || new Uint8Array(mem.buffer)[65536] !== 42) throw new Error("the data segment did not land in the imported memory");
let refused = false;
try { new WebAssembly.Instance(mod, { env: { f: () => 0 }, camlens: { mem: new WebAssembly.Memory({ initial: min - 1` + max + ` }) } }); } catch (e) { refused = e instanceof WebAssembly.LinkError; }
if (!refused) throw new Error("a memory under the minimum was accepted");
console.log("ok");
`
	out, err := exec.Command("node", "-e", script, base64.StdEncoding.EncodeToString(mod), strconv.FormatUint(uint64(min), 10)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("node: %v\n%s", err, out)
	}
}

func TestImportMemoryErrors(t *testing.T) {
	imp := MemoryImport{Module: "camlens", Name: "mem"}
	good := testModule(true, false, []byte{0x00, 0x02})
	noMem := bytes.Replace(good, appendSection(nil, wasmSectionMemory, []byte{0x01, 0x00, 0x02}), nil, 1)
	twoMems := bytes.Replace(good, appendSection(nil, wasmSectionMemory, []byte{0x01, 0x00, 0x02}),
		appendSection(nil, wasmSectionMemory, []byte{0x02, 0x00, 0x02, 0x00, 0x01}), 1)
	shared := bytes.Replace(good, appendSection(nil, wasmSectionMemory, []byte{0x01, 0x00, 0x02}),
		appendSection(nil, wasmSectionMemory, []byte{0x01, 0x03, 0x02, 0x05}), 1)
	badMax := bytes.Replace(good, appendSection(nil, wasmSectionMemory, []byte{0x01, 0x00, 0x02}),
		appendSection(nil, wasmSectionMemory, []byte{0x01, 0x01, 0x05, 0x02}), 1)
	memImport, _, err := ImportMemory(good, imp)
	if err != nil {
		t.Fatal(err)
	}
	// A module that imports a memory and defines one too.
	both := append(append([]byte(nil), memImport...), appendSection(nil, wasmSectionMemory, []byte{0x01, 0x00, 0x01})...)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "not a WebAssembly"},
		{"a text file", []byte("(module)"), "not a WebAssembly"},
		{"truncated", good[:len(good)-3], "runs past the end"},
		{"no memory", noMem, "defines no memory"},
		{"two memories", twoMems, "has 2 memories"},
		{"shared memory", shared, "not supported"},
		{"maximum under the minimum", badMax, "maximum 2 < minimum 5"},
		{"memory imported and defined", both, "already imports a memory"},
		{"size over 32 bits", append(append([]byte(nil), wasmHeader...), 0x01, 0xff, 0xff, 0xff, 0xff, 0x7f), "over 32 bits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ImportMemory(c.in, imp)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func FuzzImportMemory(f *testing.F) {
	f.Add(testModule(true, false, []byte{0x00, 0x02}))
	f.Add(testModule(false, true, []byte{0x01, 0x02, 0x05}))
	imp := MemoryImport{Module: "camlens", Name: "mem"}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, err := ImportMemory(in, imp)
		if err != nil {
			return
		}
		inSecs, err := wasmSections(in)
		if err != nil {
			t.Fatalf("the input parsed for ImportMemory but not here: %v", err)
		}
		outSecs, err := wasmSections(out)
		if err != nil {
			t.Fatalf("the output does not parse: %v", err)
		}
		hadImport := false
		for _, s := range inSecs {
			hadImport = hadImport || s.id == wasmSectionImport
		}
		want := len(inSecs) - 1
		if !hadImport {
			want++
		}
		if len(outSecs) != want {
			t.Fatalf("%d sections, want %d", len(outSecs), want)
		}
		if _, _, err := ImportMemory(out, imp); err == nil {
			t.Fatal("the output defines a memory")
		}
	})
}

func TestWasmFunctionNames(t *testing.T) {
	// A module with a name section: module name (subsection 0), then
	// function names (subsection 1) for functions 3 and 7.
	var funcs []byte
	funcs = appendU32(funcs, 2)
	funcs = appendName(appendU32(funcs, 3), "main.f")
	funcs = appendName(appendU32(funcs, 7), "runtime.g")
	var body []byte
	body = appendName(body, "name")
	body = append(body, 0)
	body = appendU32(body, uint32(len(appendName(nil, "m"))))
	body = appendName(body, "m")
	body = append(body, 1)
	body = appendU32(body, uint32(len(funcs)))
	body = append(body, funcs...)
	bin := appendSection(append([]byte(nil), wasmHeader...), 0, body)
	names, err := wasmFunctionNames(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[3] != "main.f" || names[7] != "runtime.g" {
		t.Errorf("names = %v", names)
	}
	if _, err := wasmFunctionNames(append([]byte(nil), wasmHeader...)); err == nil {
		t.Error("no error for a module without names")
	}
	if _, err := wasmFunctionNames(bin[:len(bin)-3]); err == nil {
		t.Error("no error for a cut name section")
	}
}
