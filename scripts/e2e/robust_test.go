package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/scripts/e2e/badfiles"
	"github.com/camlens/camlens/wasm/engine/worker/workertest"
)

// badInput is one bad file given to the page.
type badInput struct {
	name  string
	file  string // the file's name
	data  func(t *testing.T) []byte
	size  int64  // instead of data: a sparse file of this size (nothing on disk, nothing read)
	input string // the file input it goes through: "#image-file" or "#model-file"
	want  string // the message the page shows (a substring of #error)
	// after is the good input that must work next: "image" (a sample) or
	// "model" (the catalog model again, then the same image).
	after string
}

// TestAppBadInput gives the page the bad files people drop on it and
// kills its engine in the ways a browser can: each case asserts the
// specific message, in words, in the page's error or notice area, and
// that a good input works right after.
func TestAppBadInput(t *testing.T) {
	p := newPage(t)
	p.viewport(1280, 900, false)
	entry := defaultModel(t)
	smps := samplesFor(t, entry.ID)
	p.open("index.html")
	seq := p.shown(0)
	dir := t.TempDir()

	readDist := func(t *testing.T, rel string) []byte {
		data, err := os.ReadFile(filepath.Join(env.dist, rel))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	basic := func(t *testing.T) []byte {
		data, err := os.ReadFile("testdata/basic.onnx")
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	astronaut := readDist(t, "web/samples/astronaut.png")
	acfg, _, err := imaging.DecodeConfig(astronaut)
	if err != nil {
		t.Fatal(err)
	}
	aw, ah := acfg.Width, acfg.Height

	cases := []badInput{
		{name: "huge PNG header", file: "huge.png", input: "#image-file", after: "image",
			data: func(*testing.T) []byte { return badfiles.PNGHeader(20000, 20000) },
			want: "huge.png: imaging: png image is 20000×20000 = 400000000 pixels, limit 50000000: image too large"},
		{name: "PDF renamed .png", file: "notes.png", input: "#image-file", after: "image",
			data: func(*testing.T) []byte {
				return []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
			},
			want: "notes.png: imaging: not an image: looks like a PDF document"},
		{name: "empty image", file: "empty.jpg", input: "#image-file", after: "image",
			data: func(*testing.T) []byte { return nil },
			want: "empty.jpg: imaging: empty input"},
		{name: "image over the size limit", file: "photo.png", input: "#image-file", after: "image", size: 300 << 20,
			want: "photo.png is 315 MB; the limit for an image is 268 MB. CamLens did not read it."},
		{name: "model opened as image", file: "net.jpg", input: "#image-file", after: "image", data: basic,
			want: "net.jpg is an ONNX model, not an image: open it with “Open model file…”"},
		{name: "truncated model", file: "cut.safetensors", input: "#model-file", after: "model",
			data: func(t *testing.T) []byte { b := readDist(t, "models/"+entry.File); return b[:len(b)*2/3] },
			want: "cut.safetensors: modelfile: "},
		{name: "PNG opened as model", file: "astronaut.png", input: "#model-file", after: "model",
			data: func(*testing.T) []byte { return astronaut },
			want: fmt.Sprintf("astronaut.png is a PNG image (%d×%d), not a model: open it with “Open image…” or drop it on the page", aw, ah)},
		{name: "model over the size limit", file: "big.safetensors", input: "#model-file", after: "model", size: 300 << 20,
			want: "big.safetensors is 315 MB; the limit for a CamLens model file is 268 MB. CamLens did not read it."},
		{name: "ONNX with a Loop", file: "loop.onnx", input: "#model-file", after: "model",
			data: func(t *testing.T) []byte {
				b, err := badfiles.AddNode(basic(t), "Loop", []string{"", ""}, []string{"loop_out"})
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			want: `loop.onnx: onnx: node 10 "added_Loop" (Loop, opset 13): control-flow op Loop is not supported`},
		{name: "ONNX with a NaN weight", file: "nan.onnx", input: "#model-file", after: "model",
			data: func(t *testing.T) []byte {
				b, err := badfiles.SetWeight(basic(t), "onnx::Conv_41", 5, float32(math.NaN()))
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			want: `nan.onnx: onnx: weight "/3/Conv_output_0.weight": element 5 is NaN (value not finite)`},
		{name: "PDF renamed .onnx", file: "paper.onnx", input: "#model-file", after: "model",
			data: func(*testing.T) []byte { return []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n") },
			want: "paper.onnx: onnx: this looks like a PDF document, not an ONNX model"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.t = t
			path := filepath.Join(dir, fmt.Sprintf("%d", i), tc.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.size > 0 {
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Truncate(tc.size); err != nil {
					t.Fatal(err)
				}
				f.Close()
			} else if err := os.WriteFile(path, tc.data(t), 0o644); err != nil {
				t.Fatal(err)
			}
			p.wait(`document.getElementById("error").hidden && document.body.dataset.busy === "0"`, 30*time.Second)
			p.run(chromedp.SetUploadFiles(chromedp.CSS(tc.input), []string{path}))
			p.wait(`!document.getElementById("error").hidden && document.body.dataset.busy === "0"`, loadTimeout)
			msg := p.text("#error")
			t.Logf("%s: %q", tc.file, msg)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("the page says %q, want %q", msg, tc.want)
			}
			if !eval[bool](p, `(() => { const r = document.getElementById("error").getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`) {
				t.Error("the error is not visible")
			}
			if i == 0 {
				p.screenshot("desktop-error-huge-png")
			}
			// A good input works next.
			switch tc.after {
			case "image":
				smp := smps[i%2]
				p.click(fmt.Sprintf(`.sample[data-sample=%q]`, smp.File))
				seq = p.shown(seq)
				if top := p.text("#preds .pred .label"); top != smp.Expected {
					t.Errorf("after the bad file, %s: top class %q, want %q", smp.File, top, smp.Expected)
				}
			case "model":
				p.change("model", entry.ID)
				seq = p.shown(seq)
			}
			p.noError()
		})
	}

	t.Run("all-zero map note", func(t *testing.T) {
		p.t = t
		zero, err := workertest.ZeroClassModelFile()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "zero-grey.safetensors")
		if err := os.WriteFile(path, zero, 0o644); err != nil {
			t.Fatal(err)
		}
		p.run(chromedp.SetUploadFiles(chromedp.CSS("#model-file"), []string{path}))
		p.wait(`document.body.dataset.model === "zero-grey.safetensors"`, loadTimeout)
		seq = p.shown(seq)
		r := eval[result](p, `camlens.explain({method: "gradcam", class: "grey"}).then(`+resultJS+`)`)
		seq = p.seq()
		for i, v := range r.Map {
			if v != 0 {
				t.Fatalf("map[%d] = %v, want an all-zero map", i, v)
			}
		}
		note := p.text("#note")
		t.Logf("note: %q", note)
		if want := `The map is all zero: the gradient of the logit of class 3 ("grey") is zero everywhere at layer "conv2"`; !strings.Contains(note, want) || !eval[bool](p, `!document.getElementById("note").hidden`) {
			t.Errorf("note %q (shown: %v), want %q", note, eval[bool](p, `!document.getElementById("note").hidden`), want)
		}
		p.screenshot("desktop-zero-map-note")
		eval[result](p, `camlens.explain({method: "gradcam", class: -1}).then(`+resultJS+`)`)
		if !eval[bool](p, `document.getElementById("note").hidden`) {
			t.Errorf("a map with content still shows the note %q", p.text("#note"))
		}
		p.change("model", entry.ID)
		seq = p.shown(seq)
	})

	t.Run("cancel Score-CAM", func(t *testing.T) {
		p.t = t
		seq = p.cancelSlowMethod(seq)
	})

	// The engine dies; the page restarts it, reloads the model and the
	// image, explains again and says so. The map afterwards is the core's.
	p.click(fmt.Sprintf(`.sample[data-sample=%q]`, smps[0].File))
	seq = p.shown(seq)
	ref := defaultReference(t, smps[0], smps[0].Crop)
	crashes := []struct {
		kind, want string
		watchdog   bool // only the watchdog notices: the test sends a request
	}{
		{"panic", "The engine stopped (panic: camlens engine: crash requested by the page (camlens.debug.crashEngine)); CamLens restarted it and reloaded your model and image.", false},
		{"throw", "The engine stopped (Uncaught Error: camlens engine: uncaught exception requested by the page (camlens.debug.crashEngine)); CamLens restarted it and reloaded your model and image.", false},
		{"hang", "The engine stopped (it did not answer for ", true},
		{"kill", "The engine stopped (it did not answer for ", true},
	}
	methods := []string{"hirescam", "gradcam"}
	for i, c := range crashes {
		t.Run("engine "+c.kind, func(t *testing.T) {
			p.t = t
			p.allow = append(p.allow, "camlens engine: uncaught exception requested by the page")
			restarted := eval[int](p, `Number(document.body.dataset.restarted || 0)`)
			method := "gradcam"
			if c.watchdog {
				eval[bool](p, `(camlens.debug.watchdogMs(4000), true)`)
				defer eval[bool](p, `(camlens.debug.watchdogMs(60000), true)`)
			}
			eval[bool](p, fmt.Sprintf(`(camlens.debug.crashEngine(%q), true)`, c.kind))
			if c.watchdog {
				// The dead engine is noticed when the page next asks it
				// for something: a method switch.
				method = methods[i%2]
				p.change("method", method)
			}
			p.wait(fmt.Sprintf(`Number(document.body.dataset.restarted || 0) > %d && Number(document.body.dataset.shown || 0) > %d && document.body.dataset.busy === "0"`, restarted, seq), loadTimeout)
			seq = p.seq()
			notice := p.text("#notice")
			t.Logf("notice: %q", notice)
			if !strings.Contains(notice, c.want) || (c.watchdog && !strings.Contains(notice, "CamLens restarted it and reloaded your model and image.")) {
				t.Errorf("notice %q, want %q", notice, c.want)
			}
			if !eval[bool](p, `!document.getElementById("notice").hidden`) {
				t.Error("the notice is not shown")
			}
			p.noError()
			r := lastResult(p)
			ref.check(t, r, method, -1)
			switch c.kind {
			case "panic":
				p.screenshot("desktop-engine-restarted")
			case "kill":
				p.viewport(390, 844, true)
				p.run(chromedp.ScrollIntoView(chromedp.CSS("#notice")))
				p.screenshot("mobile-engine-restarted")
				p.viewport(1280, 900, false)
			}
			// The next explanation works.
			r = eval[result](p, `camlens.explain({method: "layercam", class: 1}).then(`+resultJS+`)`)
			ref.check(t, r, "layercam", 1)
			seq = p.seq()
			p.change("method", "gradcam")
			seq = p.shown(seq)
		})
	}

	t.Run("narrow error", func(t *testing.T) {
		p.t = t
		p.viewport(390, 844, true)
		defer p.viewport(1280, 900, false)
		path := filepath.Join(dir, "paper.png")
		os.WriteFile(path, []byte("%PDF-1.7\n"), 0o644)
		p.run(chromedp.SetUploadFiles(chromedp.CSS("#image-file"), []string{path}))
		p.wait(`!document.getElementById("error").hidden && document.body.dataset.busy === "0"`, loadTimeout)
		if w := eval[int](p, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the page is %d px wide at a 390 px viewport", w)
		}
		p.run(chromedp.ScrollIntoView(chromedp.CSS("#error")))
		p.screenshot("mobile-error-pdf")
	})
}
