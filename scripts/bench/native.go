package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
)

// nativeResult is the native (CLI) throughput of Grad-CAM end to end.
type nativeResult struct {
	Workers      int     `json:"workers"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	Images       int64   `json:"images"`
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_s"`
	// MSPerImage is the median single-worker latency, measured before
	// the parallel run.
	MSPerImage float64 `json:"ms_per_image"`
	MinMS      float64 `json:"min_ms"`
}

// nativeThroughput runs what scripts/explain does per image (preprocess the
// crop, forward, Grad-CAM at the last block, post-processing to the input
// size) on 2 goroutines for d, after a single-worker latency series.
func nativeThroughput(ctx context.Context, root string, d time.Duration) (*nativeResult, error) {
	m, err := modelfile.Load(filepath.Join(root, "models", "face-expression.safetensors"))
	if err != nil {
		return nil, err
	}
	model, err := cam.NewModel(m)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(root, "web", "samples", "astronaut.png"))
	if err != nil {
		return nil, err
	}
	img, _, err := imaging.Decode(data)
	if err != nil {
		return nil, err
	}
	crop, err := sampleCrop(root)
	if err != nil {
		return nil, err
	}
	one := func() error {
		s, err := model.SessionFromImage(img, crop)
		if err != nil {
			return err
		}
		r, err := s.Explain(ctx, cam.Request{Method: "gradcam", Class: -1, Layers: []string{"dense3/out"}})
		if err != nil {
			return err
		}
		if len(r.Map) == 0 {
			return fmt.Errorf("empty map")
		}
		s.Release() // its memory serves the next image's forward pass
		return nil
	}
	var lat []float64
	for i := 0; i < 30; i++ {
		t0 := time.Now()
		if err := one(); err != nil {
			return nil, err
		}
		if i >= 3 {
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	const workers = 2
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	t0 := time.Now()
	stop := t0.Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				if err := one(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	sec := time.Since(t0).Seconds()
	st := stats(lat)
	return &nativeResult{Workers: workers, GOMAXPROCS: runtime.GOMAXPROCS(0), Images: n.Load(), Seconds: sec,
		ImagesPerSec: float64(n.Load()) / sec, MSPerImage: st.Median, MinMS: st.Min}, nil
}

// sampleCrop reads the astronaut sample's face crop from samples.json.
func sampleCrop(root string) (image.Rectangle, error) {
	data, err := os.ReadFile(filepath.Join(root, "web", "samples", "samples.json"))
	if err != nil {
		return image.Rectangle{}, err
	}
	var s struct {
		Samples []struct {
			File string `json:"file"`
			Crop []int  `json:"crop"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return image.Rectangle{}, fmt.Errorf("samples.json: %w", err)
	}
	for _, x := range s.Samples {
		if x.File == "astronaut.png" && len(x.Crop) == 4 {
			c := x.Crop
			return image.Rect(c[0], c[1], c[0]+c[2], c[1]+c[3]), nil
		}
	}
	return image.Rectangle{}, fmt.Errorf("samples.json has no astronaut.png with a crop [x, y, w, h]")
}
