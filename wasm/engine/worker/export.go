package worker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"path"
	"strings"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/tensor"
)

// export renders the last explanation as a file, named like the explain
// CLI's outputs: <image>.<method>.png (overlay), .heat.png, .npy, .json.
func (s *state) export(kind, colormap string, alpha float64) (Fields, error) {
	if s.last == nil {
		return nil, stateErr("nothing to export: explain first")
	}
	res := s.last
	stem := strings.TrimSuffix(path.Base(s.imgName), path.Ext(s.imgName))
	if stem == "" || stem == "." || stem == "/" {
		stem = "image"
	}
	stem += "." + res.Method
	if colormap == "" {
		colormap = "jet"
	}
	if math.IsNaN(alpha) || alpha < 0 || alpha > 1 {
		return nil, inputErr(fmt.Errorf("alpha %v outside [0, 1]", alpha))
	}
	var (
		data []byte
		mime string
		name string
		err  error
	)
	switch kind {
	case "overlay":
		var img image.Image
		if res.Guided != nil {
			img = guidedImage(res.Guided, res.W, res.H, res.C, s.model.Meta().Preprocess.Channels)
		} else {
			cm, err := lookupColormap(colormap)
			if err != nil {
				return nil, err
			}
			img = overlay(s.base, res.Map, res.W, res.H, cm, alpha)
		}
		data, err = pngBytes(img)
		mime, name = "image/png", stem+".png"
	case "heatmap":
		cm, err2 := lookupColormap(colormap)
		if err2 != nil {
			return nil, err2
		}
		data, err = pngBytes(heatmap(res.Map, res.W, res.H, cm))
		mime, name = "image/png", stem+".heat.png"
	case "npy":
		data, err = s.npyBytes()
		mime, name = "application/octet-stream", stem+".npy"
	case "json":
		data, err = s.jsonBytes()
		mime, name = "application/json", stem+".json"
	default:
		return nil, inputErr(fmt.Errorf("unknown export kind %q (overlay, heatmap, npy, json)", kind))
	}
	if err != nil {
		return nil, &Error{CodeInternal, fmt.Errorf("export %s: %w", kind, err)}
	}
	return Fields{"data": data, "mime": mime, "filename": name}, nil
}

// exportJSON is the .json export: what was explained, the map, and the
// signed low-resolution map before the ReLU.
type exportJSON struct {
	Model          string         `json:"model"`
	Image          string         `json:"image"`
	Method         string         `json:"method"`
	Class          int            `json:"class"`
	Label          string         `json:"label"`
	Layers         []string       `json:"layers"`
	Target         string         `json:"target"`
	Counterfactual bool           `json:"counterfactual"`
	Crop           []int          `json:"crop"`   // x, y, w, h in image pixels
	Region         []int          `json:"region"` // the square/crop the input covers, x, y, w, h
	Predictions    []predJSON     `json:"predictions"`
	Width          int            `json:"width"`
	Height         int            `json:"height"`
	Map            []float32      `json:"map"` // height×width, row-major, in [0, 1]
	Raw            *rawJSON       `json:"raw,omitempty"`
	Box            []int          `json:"box,omitempty"` // x0, y0, x1, y1 in map pixels
	Peak           []int          `json:"peak"`
	TimingsMS      map[string]any `json:"timings_ms"`
}

type predJSON struct {
	Class int     `json:"class"`
	Label string  `json:"label"`
	Logit float32 `json:"logit"`
	Prob  float32 `json:"prob"`
}

type rawJSON struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

func (s *state) jsonBytes() ([]byte, error) {
	res := s.last
	if res == nil {
		return nil, errors.New("no explanation")
	}
	e := exportJSON{
		Model: s.model.Meta().Name, Image: path.Base(s.imgName), Method: res.Method, Class: res.Class, Label: res.Label,
		Layers: append([]string{}, res.Layers...), Target: res.Target, Counterfactual: res.Counterfactual,
		Crop: rectFields(s.geom.Crop), Region: rectFields(s.geom.Canvas),
		Width: res.W, Height: res.H, Map: finiteOrZero(res.Map), Peak: []int{res.Peak.X, res.Peak.Y},
		TimingsMS: map[string]any{
			"decode": s.predTime["decode"], "preprocess": s.predTime["preprocess"], "forward": s.predTime["forward"],
			"backward": ms(res.Timings.Backward), "extra_forward": ms(res.Timings.Forward), "method": ms(res.Timings.Method),
		},
	}
	for _, p := range s.preds {
		e.Predictions = append(e.Predictions, predJSON{p.Class, p.Label, p.Logit, p.Prob})
	}
	if !res.Box.Empty() {
		e.Box = []int{res.Box.Min.X, res.Box.Min.Y, res.Box.Max.X, res.Box.Max.Y}
	}
	if res.Raw != nil {
		e.Raw = &rawJSON{Shape: append([]int(nil), res.Raw.Shape...), Data: finiteOrZero(res.Raw.Data)}
	}
	return json.MarshalIndent(e, "", " ")
}

// finiteOrZero copies v with NaN and ±Inf replaced by 0 (JSON has no
// such numbers; the core never produces them in a map).
func finiteOrZero(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			out[i] = x
		}
	}
	return out
}

func lookupColormap(name string) (*imaging.Colormap, error) {
	cm, err := imaging.LookupColormap(name)
	if err != nil {
		return nil, inputErr(err)
	}
	return cm, nil
}

func overlay(base *image.RGBA, m []float32, w, h int, cm *imaging.Colormap, alpha float64) *image.RGBA {
	return imaging.Overlay(base, m, w, h, cm, alpha)
}

func heatmap(m []float32, w, h int, cm *imaging.Colormap) *image.RGBA {
	return imaging.Heatmap(m, w, h, cm)
}

// npyBytes is the .npy export: the map as H×W float32, or for
// guided-backprop the guided gradient as H×W×C, as the explain CLI writes.
func (s *state) npyBytes() ([]byte, error) {
	res := s.last
	shape, data := []int{res.H, res.W}, res.Map
	if res.Method == "guided-backprop" && res.Guided != nil {
		shape, data = []int{res.H, res.W, res.C}, res.Guided
	}
	t, err := tensor.FromData(shape, data)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := npy.Write(&buf, t); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
