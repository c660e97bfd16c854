package scene_test

import (
	"fmt"

	"github.com/camlens/camlens/wasm/view/scene"
)

// Two square panels in a wide view sit side by side; at 390 px wide they
// stack.
func ExampleLayout() {
	fmt.Println(scene.Layout(808, 400, []float64{1, 1}))
	fmt.Println(scene.Layout(390, 788, []float64{1, 1}))
	// Output:
	// [{0 0 400 400} {408 0 808 400}]
	// [{0 0 390 390} {0 398 390 788}]
}
