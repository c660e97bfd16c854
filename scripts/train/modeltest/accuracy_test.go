// Package modeltest re-measures the accuracy of CamLens's trained models
// (models/fashion, digits, clutter) with their shipped int8 files on their
// held-out test sets.
package modeltest

import (
	"image"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/camlens/camlens/core/dataset"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
	"github.com/camlens/camlens/scripts/internal/paths"
)

// Clutter's held-out split, as scripts/train/gendata makes it.
const (
	clutterTest     = 2000
	clutterTestSeed = 2
)

func requireDeps(t *testing.T, what string, err error) {
	t.Helper()
	if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
		t.Fatalf("%s: %v", what, err)
	}
	t.Skipf("%s not available: %v", what, err)
}

// accuracy runs the model file's int8 weights over set through the
// model's own preprocessing (imaging.ToTensor) in batches.
func accuracy(t *testing.T, m *modelfile.Model, set *dataset.Set) float64 {
	t.Helper()
	g, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	const batch = 100
	ctx := &nn.Context{}
	in := g.InputShape()
	per := in[1] * in[2] * in[3]
	correct := 0
	for i0 := 0; i0 < set.Len(); i0 += batch {
		n := min(batch, set.Len()-i0)
		x := tensor.New(n, in[1], in[2], in[3])
		for j := 0; j < n; j++ {
			img := &image.Gray{Pix: set.Images[i0+j], Stride: set.Cols, Rect: image.Rect(0, 0, set.Cols, set.Rows)}
			one, err := imaging.ToTensor(img, image.Rectangle{}, m.Meta.Preprocess)
			if err != nil {
				t.Fatal(err)
			}
			copy(x.Data[j*per:(j+1)*per], one.Data)
		}
		a, err := g.Forward(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		out := a.Output()
		k := out.Shape[1]
		for j := 0; j < n; j++ {
			row := out.Data[j*k : (j+1)*k]
			best := 0
			for c := range row {
				if row[c] > row[best] {
					best = c
				}
			}
			if best == set.Labels[i0+j] {
				correct++
			}
		}
	}
	return float64(correct) / float64(set.Len())
}

// TestTrainedModelAccuracy re-measures each trained model's test accuracy
// with its shipped int8 file, and checks it against the float accuracy the
// training script recorded in the file's provenance.
func TestTrainedModelAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs 22,000 test images")
	}
	for _, c := range []struct {
		name     string
		minFloat float64 // issue's bar for the float model
		maxDrop  float64 // allowed int8 loss, in accuracy (not points)
		set      func() (*dataset.Set, error)
	}{
		{"fashion", 0.91, 0.005, func() (*dataset.Set, error) {
			return dataset.ReadIDX(filepath.Join(dataset.FashionMNISTDir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dataset.FashionMNISTDir, "t10k-labels-idx1-ubyte.gz"))
		}},
		{"digits", 0.99, 0.003, mnistTest},
		{"clutter", 0.90, 0.01, func() (*dataset.Set, error) {
			s, err := mnistTest()
			if err != nil {
				return nil, err
			}
			return dataset.Clutter(s, clutterTest, clutterTestSeed, dataset.ClutterOptions{})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join("..", "..", "..", "models", c.name+".safetensors")
			if _, err := os.Stat(path); err != nil {
				// A model ships only once it meets its bar (models/README.md).
				t.Skipf("%s is not shipped: %v", path, err)
			}
			m, err := modelfile.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			set, err := c.set()
			if err != nil {
				requireDeps(t, "test set", err)
			}
			fl, err := strconv.ParseFloat(m.Meta.Provenance.Metrics["test_accuracy_float"], 64)
			if err != nil {
				t.Fatalf("provenance has no test_accuracy_float: %v", err)
			}
			acc := accuracy(t, m, set)
			t.Logf("%s: int8 test accuracy %.4f on %d items; float (training script) %.4f; drop %.2f points",
				c.name, acc, set.Len(), fl, 100*(fl-acc))
			if fl < c.minFloat {
				t.Errorf("float accuracy %.4f below the bar %.2f", fl, c.minFloat)
			}
			if acc < fl-c.maxDrop {
				t.Errorf("int8 accuracy %.4f is more than %.1f points below float %.4f", acc, 100*c.maxDrop, fl)
			}
		})
	}
}

func mnistTest() (*dataset.Set, error) {
	dir, err := paths.MNISTDir()
	if err != nil {
		return nil, err
	}
	return dataset.ReadIDX(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
}
