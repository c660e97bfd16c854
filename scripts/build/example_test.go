package build_test

import (
	"fmt"
	"log"

	"github.com/camlens/camlens/scripts/build"
)

func ExampleParseCatalog() {
	cat, _, err := build.ParseCatalog([]byte(`[
	  {"id": "face-expression", "file": "face-expression.safetensors", "title": "Face expression",
	   "default": true, "crop": "square", "card": "cards/face-expression.md"}]`))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range cat {
		fmt.Println(e.ID, e.File, e.Default, e.Crop)
	}
	// Output: face-expression face-expression.safetensors true square
}

func ExampleImportMemory() {
	// The smallest module with a memory: (module (memory 2)).
	mod := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x02}
	out, pages, err := build.ImportMemory(mod, build.MemoryImport{Module: "camlens", Name: "mem"})
	if err != nil {
		log.Fatal(err)
	}
	// Now (module (import "camlens" "mem" (memory 2))).
	fmt.Printf("minimum %d pages\n% x\n", pages, out[8:])
	// Output:
	// minimum 2 pages
	// 02 10 01 07 63 61 6d 6c 65 6e 73 03 6d 65 6d 02 00 02
}
