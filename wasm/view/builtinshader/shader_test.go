package builtinshader

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
)

// original parses the shader.go this file replaces, from the Ebitengine
// module the build uses.
func original(t *testing.T) *ast.File {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hajimehoshi/ebiten/v2").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/hajimehoshi/ebiten/v2: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "internal", "builtinshader", "shader.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stringVar is the longest string literal in the declaration of the
// package-level variable name: the value itself, in []byte(…) or in the
// template's Parse(…).
func stringVar(t *testing.T, f *ast.File, name string) string {
	t.Helper()
	var lit *ast.BasicLit
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Names) != 1 || vs.Names[0].Name != name || len(vs.Values) != 1 {
				continue
			}
			ast.Inspect(vs.Values[0], func(n ast.Node) bool {
				if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING && (lit == nil || len(b.Value) > len(lit.Value)) {
					lit = b
				}
				return true
			})
		}
	}
	if lit == nil {
		t.Fatalf("the original shader.go has no string literal for %s", name)
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSameSourcesAsTemplate runs the original text/template for every
// filter, address and colour-matrix setting and compares its output with
// ShaderSource's, byte for byte; the fixed sources must be the same too.
func TestSameSourcesAsTemplate(t *testing.T) {
	f := original(t)
	tmpl := template.Must(template.New("tmpl").Parse(stringVar(t, f, "tmpl")))
	n := 0
	for filter := Filter(0); filter < FilterCount; filter++ {
		for address := Address(0); address < AddressCount; address++ {
			for _, colorM := range []bool{false, true} {
				var want bytes.Buffer
				err := tmpl.Execute(&want, struct {
					Filter, FilterNearest, FilterLinear                       Filter
					Address, AddressUnsafe, AddressClampToZero, AddressRepeat Address
					UseColorM                                                 bool
				}{filter, FilterNearest, FilterLinear, address, AddressUnsafe, AddressClampToZero, AddressRepeat, colorM})
				if err != nil {
					t.Fatal(err)
				}
				if got := ShaderSource(filter, address, colorM); !bytes.Equal(got, want.Bytes()) {
					t.Errorf("ShaderSource(%d, %d, %v) differs from the template's output:\n got %q\nwant %q", filter, address, colorM, got, want.Bytes())
				}
				n++
			}
		}
	}
	if n != 12 {
		t.Fatalf("checked %d combinations, want 12", n)
	}
	for name, got := range map[string][]byte{"ScreenShaderSource": ScreenShaderSource, "ClearShaderSource": ClearShaderSource} {
		if want := stringVar(t, f, name); string(got) != want {
			t.Errorf("%s differs from the original", name)
		}
	}
	if got := len(AppendShaderSources(nil)); got != 14 {
		t.Errorf("AppendShaderSources gives %d sources, want 14", got)
	}
}

// TestSameDeclarations fails when an Ebitengine upgrade changes what the
// original file declares: then this replacement must be redone from it.
func TestSameDeclarations(t *testing.T) {
	names := func(f *ast.File, skip string) []string {
		var out []string
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				out = append(out, d.Name.Name)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							out = append(out, n.Name)
						}
					case *ast.TypeSpec:
						out = append(out, s.Name.Name)
					}
				}
			}
		}
		out = slices.DeleteFunc(out, func(n string) bool { return n == skip })
		slices.Sort(out)
		return out
	}
	mine, err := parser.ParseFile(token.NewFileSet(), "shader.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(mine, "source"), names(original(t), "tmpl"); !slices.Equal(got, want) {
		t.Errorf("declarations differ from the original's (apart from tmpl/source):\n got %v\nwant %v", got, want)
	}
}
