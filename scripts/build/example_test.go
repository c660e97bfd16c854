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
