package onnx_test

import (
	"fmt"
	"log"
	"os"

	"github.com/camlens/camlens/core/onnx"
)

// Import an ONNX classifier and look at the layers a Grad-CAM can target:
// every 4-D layer is named by its ONNX tensor.
func ExampleImportWith() {
	data, err := os.ReadFile("testdata/gradcamref/basic.onnx")
	if err != nil {
		log.Fatal(err)
	}
	m, err := onnx.ImportWith(data, onnx.Options{Name: "basic", Labels: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}})
	if err != nil {
		log.Fatal(err)
	}
	g, err := m.Build()
	if err != nil {
		log.Fatal(err)
	}
	k, err := g.DefaultLayer()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("input:", g.InputShape())
	fmt.Println("default layer:", g.Nodes[k].Spec.Name, g.Nodes[k].Shape)
	fmt.Println("classes:", len(m.Meta.Labels), "preprocess:", m.Meta.Preprocess.Channels, m.Meta.Preprocess.Width, "×", m.Meta.Preprocess.Height)
	// Output:
	// input: [1 3 32 32]
	// default layer: /9/Relu_output_0 [1 32 16 16]
	// classes: 10 preprocess: RGB 32 × 32
}
