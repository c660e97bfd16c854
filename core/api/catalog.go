package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// CatalogFile is the name of the catalog inside Config.Models.
const CatalogFile = "catalog.json"

// maxCatalogBytes bounds catalog.json.
const maxCatalogBytes = 1 << 20

// Entry is the part of a catalog entry (models/catalog.json, a JSON array
// of entries) the API uses. /api/models passes the entries through as they
// are, so fields the API does not know about (input, card, size, sha256)
// reach clients unchanged.
type Entry struct {
	ID      string `json:"id"`
	File    string `json:"file"` // path inside Config.Models
	Title   string `json:"title"`
	Default bool   `json:"default,omitempty"`
}

// catalog is a parsed, checked catalog.
type catalog struct {
	entries []Entry
	raw     []json.RawMessage
	byID    map[string]int
	def     int // index of the default entry
}

// readCatalog reads and checks CatalogFile from fsys.
func readCatalog(fsys fs.FS) (*catalog, error) {
	if fsys == nil {
		return nil, errors.New("api: Config.Models is nil")
	}
	data, err := readLimited(fsys, CatalogFile, maxCatalogBytes)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	c, err := parseCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("api: %s: %w", CatalogFile, err)
	}
	return c, nil
}

// parseCatalog checks that ids are unique and non-empty, that files are
// valid paths (fs.ValidPath, no hidden elements) and that at most one entry
// is the default; with none, the first entry is.
func parseCatalog(data []byte) (*catalog, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON array of entries: %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("no models")
	}
	c := &catalog{raw: raw, byID: map[string]int{}, def: -1}
	for i, r := range raw {
		var e Entry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		switch {
		case e.ID == "":
			return nil, fmt.Errorf("entry %d: empty id", i)
		case strings.ContainsAny(e.ID, "/?#&= \t\r\n"):
			return nil, fmt.Errorf("entry %d: id %q has characters that do not fit in a URL path or query", i, e.ID)
		}
		if _, dup := c.byID[e.ID]; dup {
			return nil, fmt.Errorf("entry %d: duplicate id %q", i, e.ID)
		}
		if !fs.ValidPath(e.File) || e.File == "." || hiddenElem(e.File) {
			return nil, fmt.Errorf("entry %d (%q): file %q is not a relative path inside the models directory", i, e.ID, e.File)
		}
		if e.Default {
			if c.def >= 0 {
				return nil, fmt.Errorf("entries %d and %d are both marked default", c.def, i)
			}
			c.def = i
		}
		c.byID[e.ID] = i
		c.entries = append(c.entries, e)
	}
	if c.def < 0 {
		c.def = 0
	}
	return c, nil
}

func hiddenElem(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if strings.HasPrefix(e, ".") {
			return true
		}
	}
	return false
}

// readLimited reads a file of fsys, refusing one larger than limit bytes
// before reading it when its size is known.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", name)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, limit %d", name, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes", name, limit)
	}
	return data, nil
}
