package worker_test

import (
	"fmt"

	"github.com/camlens/camlens/wasm/engine/worker"
	"github.com/camlens/camlens/wasm/engine/worker/workertest"
)

// A worker answers requests in order; here Post hands each answer to a
// channel, where the browser glue would call postMessage.
func ExampleWorker() {
	answers := make(chan worker.Message, 10)
	w := worker.New(worker.Options{Post: func(m worker.Message) {
		if m.Type != "progress" {
			answers <- m
		}
	}})
	model, _ := workertest.ModelFile(16, 4, false)
	w.Handle(worker.Request{ID: 1, Op: "loadModel", Data: model, Name: "test.safetensors"})
	w.Handle(worker.Request{ID: 2, Op: "setImage", Data: workertest.Photo(32, 32), Name: "photo.png"})
	w.Handle(worker.Request{ID: 3, Op: "predict"})
	w.Handle(worker.Request{ID: 4, Op: "explain", Method: "gradcam", Class: -1})
	for range 4 {
		m := <-answers
		switch m.ID {
		case 1:
			fmt.Println("model:", m.Result["model"].(worker.Fields)["labels"])
		case 4:
			fmt.Println("map:", m.Result["w"], "×", m.Result["h"], "values:", len(m.Result["map"].([]float32)))
		default:
			fmt.Println(m.ID, m.Type)
		}
	}
	// Output:
	// model: [red green blue grey]
	// 2 result
	// 3 result
	// map: 16 × 16 values: 256
}
