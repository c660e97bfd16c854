package build

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CatalogEntry is the part of a models/catalog.json entry the build and
// the page use. The catalog is a JSON array of entries; the page lists them
// in order and loads the entry marked default (or the first) on start:
//
//	[{"id": "face-expression", "title": "Face expression (face-api, 7 classes)",
//	  "file": "face-expression.safetensors", "card": "cards/face-expression.md",
//	  "default": true, "size": 360112, "sha256": "c64c…", "license": "MIT",
//	  "input": "RGB face crop, padded to a square, 112×112", "crop": "square"}]
//
// File and Card are paths relative to models/. Size and SHA256 may be left
// out: the build fills them in from the file (the page uses Size for the
// download progress and SHA256 to check the download); when present they
// must match. Input is a description for people; Crop ("square" or empty)
// tells the page before the model has downloaded whether it crops. Fields
// the build does not know are passed through to the site's catalog.
type CatalogEntry struct {
	ID      string `json:"id"`
	File    string `json:"file"`
	Title   string `json:"title"`
	Default bool   `json:"default,omitempty"`
	Card    string `json:"card,omitempty"`
	Size    int64  `json:"size,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	License string `json:"license,omitempty"`
	Input   string `json:"input,omitempty"`
	Crop    string `json:"crop,omitempty"`
}

// ParseCatalog decodes and validates a catalog: ids are unique, non-empty
// and fit in a URL path, query or hash; files and cards are relative
// slash-separated paths that stay inside models/ and name no hidden file;
// titles are not empty; at most one entry is the default. It also returns
// each entry as a generic object, for passing unknown fields through.
func ParseCatalog(data []byte) ([]CatalogEntry, []map[string]any, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("catalog: not a JSON array of entries: %w", err)
	}
	cat := make([]CatalogEntry, len(raw))
	objs := make([]map[string]any, len(raw))
	seen := map[string]bool{}
	defaults := 0
	for i, r := range raw {
		e := &cat[i]
		if err := json.Unmarshal(r, e); err != nil {
			return nil, nil, fmt.Errorf("catalog entry %d: %w", i, err)
		}
		if err := json.Unmarshal(r, &objs[i]); err != nil {
			return nil, nil, fmt.Errorf("catalog entry %d: %w", i, err)
		}
		where := fmt.Sprintf("catalog entry %d (%q)", i, e.ID)
		if e.ID == "" || strings.ContainsAny(e.ID, "/?#&=%+ \t\r\n\"'<>\\") {
			return nil, nil, fmt.Errorf("%s: the id must be non-empty and fit in a URL (no / ? # & = %% + quotes or spaces)", where)
		}
		if seen[e.ID] {
			return nil, nil, fmt.Errorf("%s: duplicate id", where)
		}
		seen[e.ID] = true
		if err := checkRelPath(e.File); err != nil {
			return nil, nil, fmt.Errorf("%s: file: %w", where, err)
		}
		if e.Card != "" {
			if err := checkRelPath(e.Card); err != nil {
				return nil, nil, fmt.Errorf("%s: card: %w", where, err)
			}
		}
		if e.Title == "" {
			return nil, nil, fmt.Errorf("%s: empty title", where)
		}
		switch e.Crop {
		case "", "square":
		default:
			return nil, nil, fmt.Errorf("%s: crop %q (want \"square\" or nothing)", where, e.Crop)
		}
		if e.Size < 0 {
			return nil, nil, fmt.Errorf("%s: negative size", where)
		}
		if e.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return nil, nil, fmt.Errorf("catalog: %d entries are marked default (want at most 1)", defaults)
	}
	return cat, objs, nil
}

// checkRelPath accepts a clean, slash-separated relative path that stays
// inside its directory and names no hidden file.
func checkRelPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return fmt.Errorf("%q is not a relative slash-separated path", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return fmt.Errorf("%q: bad path element %q", p, part)
		}
	}
	return nil
}
