package models

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
)

type catalogEntry struct {
	ID, File, Card, Title string
	Default               bool
	Size                  int
	SHA256                string
}

func readCatalog(t *testing.T) []catalogEntry {
	t.Helper()
	b, err := os.ReadFile("catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	var cat []catalogEntry
	if err := json.Unmarshal(b, &cat); err != nil {
		t.Fatalf("catalog.json: %v", err)
	}
	return cat
}

// TestCatalog checks every catalog entry against its file: it exists, its
// size and sha256 match, it parses and builds, and its card exists.
func TestCatalog(t *testing.T) {
	cat := readCatalog(t)
	defaults := 0
	for _, e := range cat {
		if e.Default {
			defaults++
		}
		b, err := FS.ReadFile(e.File)
		if err != nil {
			t.Errorf("%s: %v", e.ID, err)
			continue
		}
		if len(b) != e.Size {
			t.Errorf("%s: catalog size %d, file %d bytes", e.ID, e.Size, len(b))
		}
		m, err := modelfile.Parse(b)
		if err != nil {
			t.Errorf("%s: %v", e.ID, err)
			continue
		}
		if m.Meta.Name != e.ID {
			t.Errorf("%s: file's model name is %q", e.ID, m.Meta.Name)
		}
		if _, err := m.Build(); err != nil {
			t.Errorf("%s: %v", e.ID, err)
		}
		if _, err := os.Stat(e.Card); err != nil {
			t.Errorf("%s: card: %v", e.ID, err)
		}
	}
	if defaults != 1 {
		t.Errorf("catalog has %d default models, want 1", defaults)
	}
}

func Example() {
	b, _ := FS.ReadFile("face-expression.safetensors")
	m, err := modelfile.Parse(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Meta.Name, len(m.Meta.Labels), m.Meta.Preprocess.Width)
	// Output: face-expression 7 112
}
