package robust

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/onnx"
	"github.com/camlens/camlens/core/tensor"
)

var writeTable = flag.String("table", "", "write the table of what the CLI says for each bad input to this file (markdown)")

// kind says how a case's input reaches CamLens.
type kind int

const (
	kindImage   kind = iota // an image file: imaging.Decode → SessionFromImage → Explain
	kindTensor              // a .npy tensor: npy.Read → NewSession → Explain (explain -tensor)
	kindModel               // a model file: modelfile.Parse → cam.NewModel → session → Explain
	kindONNX                // an .onnx file: onnx.Import → cam.NewModel → session → Explain
	kindRequest             // a request on a good session: Explain (explain flags)
)

// badCase is one bad input.
type badCase struct {
	name string // short id; also the file name of the input
	what string // the input, for people
	kind kind
	data func(t testing.TB) []byte // the input's bytes (not for kindRequest)
	// crop (images) and req (requests) complete the call; flags are the
	// explain flags that do the same.
	crop  image.Rectangle
	req   cam.Request
	flags []string
	// api replaces the default core call (it gets the input's bytes and
	// the path of a file holding them).
	api func(e *env, data []byte, path string) error
	// sparse, when set, makes the input a sparse file of this size that
	// starts with the good model.
	sparse int64
	// is is the error the core's error must wrap (nil: the message alone
	// identifies it); msg is a part of the message that says what and
	// where, checked in the core's error and in the command's output.
	is  error
	msg string
}

// env holds the good inputs.
type env struct {
	dir                     string
	model                   *cam.Model
	modelPath, onnxPath     string
	imagePath, tensorPath   string
	goodImage, goodTensor   []byte
	goodModel, goodONNXData []byte
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	e.goodModel = modelBytes(t, goodModel(), true)
	e.goodONNXData = goodONNX().model()
	e.goodImage = pngBytes(t, photo(24, 20))
	e.goodTensor = npyBytes(t, inputTensor(-1, 0))
	mf, err := modelfile.Parse(e.goodModel)
	if err != nil {
		t.Fatal(err)
	}
	if e.model, err = cam.NewModel(mf); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path *string
		name string
		data []byte
	}{
		{&e.modelPath, "good.safetensors", e.goodModel}, {&e.onnxPath, "good.onnx", e.goodONNXData},
		{&e.imagePath, "good.png", e.goodImage}, {&e.tensorPath, "good.npy", e.goodTensor},
	} {
		*f.path = filepath.Join(e.dir, f.name)
		if err := os.WriteFile(*f.path, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// explain runs Grad-CAM (or req) on a session and checks the map.
func explain(s *cam.Session, req cam.Request) error {
	if req.Method == "" && req.Class == 0 && len(req.Layers) == 0 {
		req = cam.Request{Method: "gradcam", Class: -1}
	}
	r, err := s.Explain(context.Background(), req)
	if err != nil {
		return err
	}
	if len(r.Map) != r.W*r.H || r.W != inputSize || r.H != inputSize {
		return fmt.Errorf("map of %d values for %d×%d", len(r.Map), r.W, r.H)
	}
	for i, v := range r.Map {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("map value %d is %v", i, v)
		}
	}
	return nil
}

// imageRun is the core path of an image.
func (e *env) imageRun(m *cam.Model, data []byte, crop image.Rectangle) error {
	img, _, err := imaging.Decode(data)
	if err != nil {
		return err
	}
	s, err := m.SessionFromImage(img, crop)
	if err != nil {
		return err
	}
	return explain(s, cam.Request{})
}

func (e *env) tensorRun(data []byte) error {
	x, err := npy.Read(bytes.NewReader(data))
	if err != nil {
		return err
	}
	s, err := e.model.NewSession(x)
	if err != nil {
		return err
	}
	return explain(s, cam.Request{})
}

func (e *env) modelRun(mf *modelfile.Model, err error) error {
	if err != nil {
		return err
	}
	m, err := cam.NewModel(mf)
	if err != nil {
		return err
	}
	return e.imageRun(m, e.goodImage, image.Rectangle{})
}

func (e *env) requestRun(req cam.Request) error {
	img, _, err := imaging.Decode(e.goodImage)
	if err != nil {
		return err
	}
	s, err := e.model.SessionFromImage(img, image.Rectangle{})
	if err != nil {
		return err
	}
	return explain(s, req)
}

// run sends the case's input through the core; good swaps in the good
// input of the same kind.
func (c *badCase) run(e *env, data []byte, path string, good bool) error {
	switch c.kind {
	case kindImage:
		if good {
			return e.imageRun(e.model, e.goodImage, image.Rectangle{})
		}
		if c.api != nil {
			return c.api(e, data, path)
		}
		return e.imageRun(e.model, data, c.crop)
	case kindTensor:
		if good {
			return e.tensorRun(e.goodTensor)
		}
		return e.tensorRun(data)
	case kindModel:
		if good {
			return e.modelRun(modelfile.Parse(e.goodModel))
		}
		if c.api != nil {
			return c.api(e, data, path)
		}
		return e.modelRun(modelfile.Parse(data))
	case kindONNX:
		if good {
			return e.modelRun(onnx.Import(e.goodONNXData))
		}
		return e.modelRun(onnx.Import(data))
	case kindRequest:
		if good {
			return e.requestRun(cam.Request{Method: "gradcam", Class: -1})
		}
		return e.requestRun(c.req)
	}
	panic("unknown kind")
}

func (c *badCase) ext() string {
	switch c.kind {
	case kindTensor:
		return ".npy"
	case kindModel:
		return ".safetensors"
	case kindONNX:
		return ".onnx"
	}
	return ".img"
}

// TestBadInputs feeds every bad input through the core API and then
// through the explain command, checking its specific error each time and
// that the good input that follows still works (in the same process for
// the core; in the same command run for images and tensors, in the next
// run for models and requests).
func TestBadInputs(t *testing.T) {
	cases := badCases()
	if len(cases) < 25 {
		t.Fatalf("%d cases, want at least 25", len(cases))
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Fatalf("case %q twice", c.name)
		}
		names[c.name] = true
	}
	e := newEnv(t)
	bin := buildExplain(t)
	table := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var data []byte
			path := filepath.Join(e.dir, c.name+c.ext())
			switch {
			case c.data != nil:
				data = c.data(t)
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			case c.sparse > 0:
				if err := os.WriteFile(path, e.goodModel, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(path, c.sparse); err != nil {
					t.Fatal(err)
				}
			}
			// The core API.
			err := c.run(e, data, path, false)
			if err == nil {
				t.Fatalf("core: no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("core: error does not wrap %q: %v", c.is, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("core: error does not say %q: %v", c.msg, err)
			}
			if err := c.run(e, nil, "", true); err != nil {
				t.Fatalf("core: the good input after it fails: %v", err)
			}
			// The command.
			table[c.name] = c.cli(t, e, bin, path)
		})
	}
	if *writeTable != "" {
		if err := os.WriteFile(*writeTable, []byte(formatTable(cases, table)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cli runs the case through the explain command and returns the line it
// printed about the bad input.
func (c *badCase) cli(t *testing.T, e *env, bin, path string) string {
	out := filepath.Join(e.dir, "out-"+c.name)
	goodStem := filepath.Join(out, "good.gradcam")
	var args []string
	sameRun := false
	switch c.kind {
	case kindImage:
		args = append(append([]string{"-model", e.modelPath}, c.flags...), path)
		sameRun = len(c.flags) == 0
		if sameRun {
			args = append(args, e.imagePath)
		}
	case kindTensor:
		args = []string{"-model", e.modelPath, "-tensor", path, e.tensorPath}
		sameRun = true
	case kindModel, kindONNX:
		args = []string{"-model", path, e.imagePath}
	case kindRequest:
		args = append(append([]string{"-model", e.modelPath}, c.flags...), e.imagePath)
	}
	code, stderr := runExplain(t, bin, append([]string{"-out", out}, args...)...)
	if code == 0 {
		t.Fatalf("explain %q: exit 0, want an error; stderr:\n%s", args, stderr)
	}
	line := ""
	for _, l := range strings.FieldsFunc(stderr, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.Contains(l, c.msg) {
			line = strings.TrimSpace(l)
			break
		}
	}
	if line == "" {
		t.Fatalf("explain %q: exit %d without %q:\n%s", args, code, c.msg, stderr)
	}
	if !sameRun {
		// The next run, with the good input and no bad flags.
		args = []string{"-model", e.modelPath, e.imagePath}
		if code, stderr := runExplain(t, bin, append([]string{"-out", out}, args...)...); code != 0 {
			t.Fatalf("explain of the good input after it: exit %d:\n%s", code, stderr)
		}
	} else if !strings.Contains(stderr, "1 of 2 inputs explained") {
		t.Fatalf("explain: no summary saying the good input worked:\n%s", stderr)
	}
	for _, ext := range []string{".png", ".heat.png", ".npy", ".json"} {
		if _, err := os.Stat(goodStem + ext); err != nil {
			t.Fatalf("the good input's output is missing: %v", err)
		}
	}
	return strings.ReplaceAll(line, e.dir+string(filepath.Separator), "")
}

// The explain command, built once per test binary (see TestMain).
var (
	explainOnce sync.Once
	explainBin  string
	explainErr  error
	binDir      string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildExplain builds scripts/explain with the go command that runs the
// tests and returns the binary's path.
func buildExplain(t *testing.T) string {
	t.Helper()
	explainOnce.Do(func() {
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			if gobin, err = exec.LookPath("go"); err != nil {
				explainErr = fmt.Errorf("the go command is needed to build scripts/explain: %w", err)
				return
			}
		}
		if binDir, explainErr = os.MkdirTemp("", "camlens-robust-"); explainErr != nil {
			return
		}
		explainBin = filepath.Join(binDir, "explain")
		if out, err := exec.Command(gobin, "build", "-o", explainBin, "../explain").CombinedOutput(); err != nil {
			explainErr = fmt.Errorf("building scripts/explain: %v\n%s", err, out)
		}
	})
	if explainErr != nil {
		t.Fatal(explainErr)
	}
	return explainBin
}

func runExplain(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("running explain: %v", err)
	return 0, ""
}

// formatTable renders the README table: each input and what the command
// said about it.
func formatTable(cases []badCase, lines map[string]string) string {
	var b strings.Builder
	b.WriteString("| # | Input | Kind | Error (core) | What the user sees (explain CLI) |\n|---|---|---|---|---|\n")
	kinds := []string{"image", "tensor", "model file", "ONNX", "request"}
	for i, c := range cases {
		is := ""
		if c.is != nil {
			is = "`" + sentinelName(c.is) + "`"
		}
		line := strings.TrimPrefix(lines[c.name], "explain: ")
		line = strings.ReplaceAll(line, "|", `\|`)
		fmt.Fprintf(&b, "| %d | `%s`: %s | %s | %s | %s |\n", i+1, c.name, c.what, kinds[c.kind], is, line)
	}
	return b.String()
}

func sentinelName(err error) string {
	for name, s := range sentinels {
		if s == err {
			return name
		}
	}
	return err.Error()
}

var sentinels = map[string]error{
	"imaging.ErrTooLarge": imaging.ErrTooLarge, "imaging.ErrFormat": imaging.ErrFormat, "imaging.ErrCrop": imaging.ErrCrop,
	"modelfile.ErrTruncated": modelfile.ErrTruncated, "modelfile.ErrNotModelFile": modelfile.ErrNotModelFile,
	"modelfile.ErrInvalid": modelfile.ErrInvalid, "modelfile.ErrTooLarge": modelfile.ErrTooLarge,
	"modelfile.ErrVersion": modelfile.ErrVersion, "tensor.ErrTooLarge": tensor.ErrTooLarge,
	"nn.ErrNotFinite": nn.ErrNotFinite, "nn.ErrTooLarge": nn.ErrTooLarge,
	"onnx.ErrTooLarge": onnx.ErrTooLarge, "npy.ErrFormat": npy.ErrFormat, "context.Canceled": context.Canceled,
}

// TestTableInREADME: the README's table has a row for every case.
func TestTableInREADME(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, c := range badCases() {
		if !bytes.Contains(b, []byte("`"+c.name+"`")) {
			missing = append(missing, c.name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("README.md has no row for %q (regenerate: go test ./scripts/robust -run TestBadInputs -args -table /tmp/table.md)", missing)
	}
}
