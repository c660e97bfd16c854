package modelfile_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// A one-layer classifier written as int8 and read back: the dense weight
// comes back dequantised (within half a step of the original), the bias
// exactly.
func ExampleWrite() {
	w, _ := tensor.FromData([]int{2, 3}, []float32{0.5, -1, 0.25, 2, 0, -0.1})
	b, _ := tensor.FromData([]int{2}, []float32{0.1, -0.2})
	m := &modelfile.Model{
		Meta: modelfile.Meta{
			Name:       "linear",
			Labels:     []string{"cat", "dog"},
			Provenance: modelfile.Provenance{Source: "example", License: "MIT"},
		},
		Graph: nn.GraphSpec{
			Input: nn.InputSpec{Name: "x", Shape: []int{3}},
			Nodes: []nn.NodeSpec{{Name: "fc", Op: "dense", Inputs: []string{"x"}}},
		},
		Weights: map[string]*tensor.Tensor{"fc.weight": w, "fc.bias": b},
	}
	var file bytes.Buffer
	if err := modelfile.Write(&file, m, modelfile.WriteOptions{Quantize: true}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("file size:", file.Len())

	got, err := modelfile.Parse(file.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("labels:", got.Meta.Labels)
	fmt.Printf("fc.weight %v: %.4f\n", got.Weights["fc.weight"].Shape, got.Weights["fc.weight"].Data)
	fmt.Printf("fc.bias %v: %v\n", got.Weights["fc.bias"].Shape, got.Weights["fc.bias"].Data)
	// Output:
	// file size: 662
	// labels: [cat dog]
	// fc.weight [2 3]: [0.5039 -1.0000 0.2520 2.0000 0.0000 -0.0945]
	// fc.bias [2]: [0.1 -0.2]
}
