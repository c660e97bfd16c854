package robust

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/tensor"
)

// wideModel is the good model with 2048 channels in conv1: Score-CAM and
// Ablation-CAM then run 2048 perturbed passes, long enough to cancel.
func wideModel() *modelfile.Model {
	const c = 2048
	m := goodModel()
	w := tensor.New(c, 3, 3, 3)
	for i := range w.Data {
		w.Data[i] = float32(math.Sin(float64(i)*1.7)) * 0.4
	}
	fw := tensor.New(len(labels), c)
	for i := range fw.Data {
		fw.Data[i] = float32(math.Cos(float64(i)*0.9)) * 0.1
	}
	m.Weights["conv1.weight"] = w
	m.Weights["conv1.bias"] = tensor.New(c)
	m.Weights["fc.weight"] = fw
	return m
}

// TestCancelSlowMethods: a cancelled Score-CAM or Ablation-CAM stops
// between batches with an error wrapping context.Canceled, and the same
// session then gives the same explanation as a fresh one.
func TestCancelSlowMethods(t *testing.T) {
	m, err := cam.NewModel(wideModel())
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(pngBytes(t, photo(24, 20)))
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"scorecam", "ablationcam"} {
		s, err := m.SessionFromImage(img, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		batches := 0
		_, err = s.Explain(ctx, cam.Request{Method: method, Class: 0, Progress: func(done, total int) {
			batches++
			if done >= total {
				t.Errorf("%s: ran to the end (%d/%d) before the cancel took effect", method, done, total)
			}
			cancel()
		}})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), method+" cancelled after") {
			t.Fatalf("%s: err %v, want a cancellation", method, err)
		}
		if batches != 1 {
			t.Fatalf("%s: %d batches ran after the cancel, want 1", method, batches)
		}
		// The next request on a small layer works and is not affected.
		small, err := cam.NewModel(goodModel())
		if err != nil {
			t.Fatal(err)
		}
		s2, err := small.SessionFromImage(img, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Explain(context.Background(), cam.Request{Method: method, Class: 0}); err != nil {
			t.Fatalf("%s after a cancel: %v", method, err)
		}
		// The cancelled session still answers the fast methods.
		if _, err := s.Explain(context.Background(), cam.Request{Method: "gradcam", Class: 0}); err != nil {
			t.Fatalf("gradcam after a cancelled %s: %v", method, err)
		}
	}
}

// TestCLIInterrupt: Ctrl-C (SIGINT) during Score-CAM stops the explain
// command between batches; it reports the cancellation, skips the rest,
// prints its summary and exits 1.
func TestCLIInterrupt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	bin := buildExplain(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "wide.safetensors")
	img := filepath.Join(dir, "a.png")
	if err := os.WriteFile(model, modelBytes(t, wideModel(), true), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, pngBytes(t, photo(24, 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-model", model, "-method", "scorecam", "-out", filepath.Join(dir, "out"), img, img)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first progress report, then interrupt.
	var stderr bytes.Buffer
	r := bufio.NewReader(io.TeeReader(pipe, &stderr))
	sent := false
	for {
		chunk, err := r.ReadString('\r') // the progress bar redraws with \r
		if strings.Contains(chunk, "channels ") && !sent {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			sent = true
		}
		if err != nil {
			break
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1; stderr:\n%s", err, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{"scorecam cancelled after", "context canceled", "0 of 2 inputs explained with scorecam, 1 failed, 1 skipped (interrupted)"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
}

// TestZeroGradientCLI: explaining the class whose gradient is zero gives
// an all-zero map, a note on stderr and in the JSON, and exit status 0.
func TestZeroGradientCLI(t *testing.T) {
	bin := buildExplain(t)
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	code, stderr := runExplain(t, bin, "-model", e.modelPath, "-class", "none", "-out", out, e.imagePath)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	const want = `note: the map is all zero: the gradient of the logit of class 2 ("none") is zero everywhere at layer "conv1"`
	if !strings.Contains(stderr, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "good.gradcam.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct{ Note string }
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Note, "zero everywhere") {
		t.Fatalf("JSON note %q", rep.Note)
	}
	nb, err := os.ReadFile(filepath.Join(out, "good.gradcam.npy"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := npy.Read(bytes.NewReader(nb))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Data {
		if v != 0 {
			t.Fatalf("map[%d] = %v, want all zero", i, v)
		}
	}
}
