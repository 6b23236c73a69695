package yumasim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/seed0ffb8d46/agora/consensus"
	"github.com/seed0ffb8d46/agora/weights"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func load(t *testing.T, name string) *Scenario {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseScenario(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func run(t *testing.T, s *Scenario) []EpochResult {
	t.Helper()
	res, err := Run(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != s.Epochs {
		t.Fatalf("Run returned %d epochs, want %d", len(res), s.Epochs)
	}
	return res
}

func prop(v uint16) float64 { return float64(v) / 65535 }

// TestKappaMoves reproduces subtensor's Yuma3 kappa tests
// (tests/epoch.rs test_yuma_3_kappa_moves_{first,second,last}; research
// yuma.md 6.9): dividends of A, B, C at epochs 0-5 within 1e-3.
func TestKappaMoves(t *testing.T) {
	for _, tc := range []struct {
		file string
		want [6][3]float64
	}{
		{"kappa_moves_first.json", [6][3]float64{
			{.8, .1, .1}, {1, 0, 0}, {.9382, .0618, 0}, {.8819, .0773, .0407}, {.8564, .0844, .0592}, {.8418, .0884, .0697}}},
		{"kappa_moves_second.json", [6][3]float64{
			{.8, .1, .1}, {.8446, .0498, .1056}, {.6868, .3132, 0}, {.7421, .2090, .0489}, {.7625, .1706, .0669}, {.7730, .1508, .0762}}},
		{"kappa_moves_last.json", [6][3]float64{
			{.8, .1, .1}, {.8446, .0498, .1056}, {.8966, .0333, .0701}, {.4663, .3210, .2127}, {.5976, .2340, .1683}, {.6592, .1932, .1475}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res := run(t, load(t, tc.file))
			for e, want := range tc.want {
				d := res[e].Output.Dividends
				for v := range 3 {
					if got := prop(d[v]); math.Abs(got-want[v]) > 1e-3 {
						t.Errorf("epoch %d: dividends[%d] = %.4f (u16 %d), want %.4f", e, v, got, d[v], want[v])
					}
				}
			}
		})
	}
}

// TestKappaMovesFirstBonds checks the bond targets subtensor lists for
// kappa_moves_first (yuma.md 6.9: its test does not actually assert them).
func TestKappaMovesFirstBonds(t *testing.T) {
	want := [6][3][2]float64{
		{{.1013, 0}, {.1013, 0}, {.1013, 0}},
		{{.0908, .1013}, {.3697, 0}, {.3697, 0}},
		{{.0815, .1924}, {.3170, .1013}, {.5580, 0}},
		{{.0731, .2742}, {.2765, .1924}, {.4306, .1013}},
		{{.0656, .3478}, {.2435, .2742}, {.3589, .1924}},
		{{.0588, .4139}, {.2157, .3478}, {.3089, .2742}},
	}
	res := run(t, load(t, "kappa_moves_first.json"))
	for e, rows := range want {
		for v, row := range rows {
			for k, w := range row {
				got := prop(bond(res[e].Output.Bonds[v], uint16(3+k)))
				if math.Abs(got-w) > 1e-3 {
					t.Errorf("epoch %d: bonds[%d][S%d] = %.4f, want %.4f", e, v, k+1, got, w)
				}
			}
		}
	}
}

func bond(row []consensus.Entry, uid uint16) uint16 {
	for _, e := range row {
		if e.UID == uid {
			return e.Value
		}
	}
	return 0
}

// perStake returns each validator's total emission over the run per unit
// of its (constant) stake.
func perStake(s *Scenario, res []EpochResult, uids ...int) []float64 {
	out := make([]float64, len(uids))
	for k, u := range uids {
		var total uint64
		for _, r := range res {
			total += r.Output.Emission[u]
		}
		out[k] = float64(total) / float64(s.Stake[u])
	}
	return out
}

// TestWeightCopier: a validator that copies the consensus one epoch late
// earns less per unit of stake than the honest validators it copies, by
// about 7% under classic Yuma and about 15% under Yuma3 with liquid alpha.
func TestWeightCopier(t *testing.T) {
	for _, tc := range []struct {
		name     string
		yuma3    bool
		maxRatio float64
	}{
		{"classic", false, 0.94},
		{"yuma3 liquid alpha", true, 0.87},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := load(t, "weight_copier.json")
			s.Params.Yuma3, s.Params.LiquidAlpha = tc.yuma3, tc.yuma3
			res := run(t, s)
			ps := perStake(s, res, 0, 1, 2)
			ratio := ps[2] / ps[0]
			t.Logf("emission per unit stake: V1 %.5f, V2 %.5f, Copier %.5f (ratio %.4f)", ps[0], ps[1], ps[2], ratio)
			if ps[0] != ps[1] {
				t.Errorf("honest validators differ: %v", ps[:2])
			}
			if ratio >= tc.maxRatio {
				t.Errorf("copier/honest emission per stake = %.4f, want < %.2f", ratio, tc.maxRatio)
			}
			// The copier's weights are the previous epoch's consensus,
			// max-upscaled as set_weights stores it.
			for e := 1; e < len(res); e++ {
				if !res[e].Copying[2] {
					t.Fatalf("epoch %d: uid 2 not copying", e)
				}
				prev := res[e-1].Output.Consensus[3:]
				up := weights.MaxUpscale(prev)
				var want []consensus.Entry
				for k, v := range up {
					want = append(want, consensus.Entry{UID: uint16(3 + k), Value: v})
				}
				if got := res[e].Weights[2]; !slices.Equal(got, want) {
					t.Fatalf("epoch %d: copier weights %v, want %v", e, got, want)
				}
			}
			// At a switch the copier lags: its validator trust drops.
			if vt := res[4].Output.ValidatorTrust[2]; vt > 40000 {
				t.Errorf("epoch 4: copier validator trust %s, want a drop", FormatU16(vt))
			}
		})
	}
}

// TestCabal: a 40%-stake cabal moves all its weight to its own miner X at
// epoch 5. X's consensus stays at what the 60% honest majority gives it,
// the cabal's weight is clipped, its validator trust collapses to X's
// consensus and its dividends fall epoch after epoch.
func TestCabal(t *testing.T) {
	s := load(t, "cabal_40pct.json")
	res := run(t, s)
	const cabal, x = 2, 5
	before, after := res[4].Output, res[len(res)-1].Output
	if before.Consensus[x] != after.Consensus[x] {
		t.Errorf("X consensus moved: %s → %s", FormatU16(before.Consensus[x]), FormatU16(after.Consensus[x]))
	}
	// Honest weight on X: 6553 of 65535+52428+6553 (0.0526).
	if got := prop(after.Consensus[x]); math.Abs(got-0.0526) > 1e-3 {
		t.Errorf("X consensus = %.4f, want the honest 0.0526", got)
	}
	// Unclipped, X would get 0.6·0.0526 + 0.4 ≈ 0.43; clipped it gets
	// 0.0847 (its consensus, renormalised after the cabal's wasted weight).
	if got := prop(after.Incentive[x]); got > 0.09 {
		t.Errorf("X incentive = %.4f, want clipped below 0.09", got)
	}
	if got := prop(after.ValidatorTrust[cabal]); got > 0.06 {
		t.Errorf("cabal validator trust = %.4f, want ≈ 0.0526", got)
	}
	if got := prop(before.ValidatorTrust[cabal]); got < 0.999 {
		t.Errorf("cabal validator trust before the attack = %.4f, want 1", got)
	}
	for e := 6; e < len(res); e++ {
		if res[e].Output.Dividends[cabal] >= res[e-1].Output.Dividends[cabal] {
			t.Errorf("epoch %d: cabal dividends did not fall", e)
		}
	}
	if got := prop(after.Dividends[cabal]); got > 0.12 {
		t.Errorf("cabal dividends at the end = %.4f (stake 0.4), want < 0.12", got)
	}
	ps := perStake(s, res, 0, 2)
	if ps[1] >= 0.6*ps[0] {
		t.Errorf("cabal emission per stake %.5f, want < 0.6 × honest %.5f", ps[1], ps[0])
	}
}

// TestStop: a validator that stops re-setting its weights keeps them until
// activity_cutoff blocks pass, then goes inactive and loses its dividends.
func TestStop(t *testing.T) {
	s := load(t, "cabal_40pct.json")
	s.Changes = []Change{
		{Epoch: 2, Stop: []uint16{1}, Params: &ParamsPatch{ActivityCutoff: ptr[uint64](250)}},
	}
	res := run(t, s)
	// The stop applies before epoch 2 (block 300), so H1's last update
	// stays at epoch 1's block, 200; it is active while 200 + 250 >= block,
	// i.e. through epoch 3 (block 400).
	for e, r := range res {
		want := e <= 3
		if r.Output.Active[1] != want {
			t.Errorf("epoch %d (block %d): active = %v, want %v", e, r.Block, r.Output.Active[1], want)
		}
	}
	if got := res[9].LastUpdate[1]; got != 200 {
		t.Errorf("last_update = %d, want 200", got)
	}
	// Inactive, it adds no new bonds: its dividends decay with its bonds.
	for e := 5; e < len(res); e++ {
		if res[e].Output.Dividends[1] >= res[e-1].Output.Dividends[1] {
			t.Errorf("epoch %d: inactive validator dividends %d did not fall", e, res[e].Output.Dividends[1])
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestRunPure: Run does not modify its scenario and gives the same results
// twice.
func TestRunPure(t *testing.T) {
	s := load(t, "weight_copier.json")
	before := load(t, "weight_copier.json")
	a, b := run(t, s), run(t, s)
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs differ")
	}
	if !reflect.DeepEqual(s, before) {
		t.Error("Run modified the scenario")
	}
}

// TestScenarioFiles runs every shipped scenario.
func TestScenarioFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		run(t, load(t, filepath.Base(f)))
	}
}

func TestParseErrors(t *testing.T) {
	base := `"n":5,"epochs":3,"stake":[1,1,1,0,0]`
	for _, tc := range []struct{ in, want string }{
		{`{` + base + `,"bogus":1}`, `scenario: unknown key "bogus"`},
		{`{` + base + `,"params":{"kapa":1}}`, `params: unknown key "kapa"`},
		{`{` + base + `,"params":{"kappa":70000}}`, `params.kappa: number 70000 is not a valid uint16`},
		{`{` + base + `,"params":{"tempo":0}}`, `params.tempo: must be positive`},
		{`{` + base + `,"params":{"bonds_moving_average":2000000}}`, `params.bonds_moving_average: 2000000 exceeds 1000000`},
		{`{"epochs":3,"stake":[1]}`, `n: missing`},
		{`{"n":5,"stake":[1]}`, `epochs: missing`},
		{`{"n":5,"epochs":3}`, `stake: missing`},
		{`{"n":5,"epochs":3,"stake":[1,2]}`, `stake: has 2 entries, want n = 5`},
		{`{` + base + `,"weights":[[],[],[],[]]}`, `weights: has 4 rows, want n = 5`},
		{`{` + base + `,"weights":[[[7,1]],[],[],[],[]]}`, `weights[0][0]: uid 7 is out of range (n = 5)`},
		{`{` + base + `,"weights":[[[3,1],[3,2]],[],[],[],[]]}`, `weights[0][1]: uid 3 appears twice`},
		{`{` + base + `,"weights":[[[3,70000]],[],[],[],[]]}`, `weights[0][0]: value 70000 is not an integer in [0, 65535]`},
		{`{` + base + `,"names":["a"]}`, `names: has 1 entries, want n = 5`},
		{`{` + base + `,"owner_uid":9}`, `owner_uid: uid 9 is out of range (n = 5)`},
		{`{` + base + `,"registration":[0,0,0,0,360]}`, `registration[4]: block 360 is not before start_block 360`},
		{`{` + base + `,"changes":[{"epoch":1},{"epoch":1},{"epoch":1,"weights":{"7":[[3,65535]]}}]}`, `changes[2].weights["7"]: uid 7 is out of range (n = 5)`},
		{`{` + base + `,"changes":[{"epoch":1,"weights":{"1":[[3,1],[9,1]]}}]}`, `changes[0].weights["1"][1]: uid 9 is out of range (n = 5)`},
		{`{` + base + `,"changes":[{"epoch":1,"weights":{"x":[]}}]}`, `changes[0].weights["x"]: "x" is not a uid`},
		{`{` + base + `,"changes":[{"epoch":1,"stake":{"1":-5}}]}`, `changes[0].stake["1"]: -5 is not an integer`},
		{`{` + base + `,"changes":[{"epoch":1,"params":{"foo":1}}]}`, `changes[0].params: unknown key "foo"`},
		{`{` + base + `,"changes":[{"epoch":1,"params":{"tempo":0}}]}`, `changes[0].params.tempo: must be positive`},
		{`{` + base + `,"changes":[{"epoch":1,"copy":{"uid":2,"from":"weights"}}]}`, `changes[0].copy.from: "weights" is not a source`},
		{`{` + base + `,"changes":[{"epoch":1,"copy":{"uid":2,"from":"consensus","lag":0}}]}`, `changes[0].copy.lag: 0 is out of range`},
		{`{` + base + `,"changes":[{"epoch":1,"copy":{"uid":2,"from":"consensus","lab":1}}]}`, `changes[0].copy: unknown key "lab"`},
		{`{` + base + `,"changes":[{"epoch":2},{"epoch":1}]}`, `changes[1].epoch: 1 is out of range [2, 2]`},
		{`{` + base + `,"changes":[{"epoch":3}]}`, `changes[0].epoch: 3 is out of range`},
		{`{` + base + `,"changes":[{"stake":{}}]}`, `changes[0].epoch: missing`},
		{`{` + base + `,"changes":[{"epoch":1,"stop":[5]}]}`, `changes[0].stop[0]: uid 5 is out of range (n = 5)`},
		{`{` + base + `} {}`, `scenario: trailing data`},
		{``, `scenario: empty`},
		{`{` + base + `,"epochs":"x"}`, `epochs: string is not a valid int`},
	} {
		_, err := ParseScenario([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseScenario(%s)\n got error %v\nwant one containing %q", tc.in, err, tc.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := ParseScenario([]byte(`{"n":3,"epochs":1,"stake":[5,3,0],"params":{"max_allowed_validators":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Emission != DefaultEmission || s.StartBlock != 360 {
		t.Errorf("emission %d, start block %d", s.Emission, s.StartBlock)
	}
	if want := []bool{true, false, false}; !slices.Equal(s.Permits, want) {
		t.Errorf("permits %v, want %v", s.Permits, want)
	}
	if s.Names[2] != "uid 2" {
		t.Errorf("names %q", s.Names)
	}
	p := consensus.DefaultParams()
	p.MaxAllowedValidators = 1
	if s.Params != p {
		t.Errorf("params %+v, want %+v", s.Params, p)
	}
	// Rows are stored max-upscaled, as set_weights stores them.
	s, err = ParseScenario([]byte(`{"n":3,"epochs":1,"stake":[1,0,0],"weights":[[[1,100],[2,50]],[],[]]}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []consensus.Entry{{UID: 1, Value: 65535}, {UID: 2, Value: 32768}}; !slices.Equal(s.Weights[0], want) {
		t.Errorf("stored row %v, want %v", s.Weights[0], want)
	}
}

func TestFormatU16(t *testing.T) {
	for v, want := range map[uint16]string{0: "0.0000", 1: "0.0000", 4: "0.0001", 32767: "0.5000", 6553: "0.1000", 65534: "1.0000", 65535: "1.0000", 65528: "0.9999"} {
		if got := FormatU16(v); got != want {
			t.Errorf("FormatU16(%d) = %s, want %s", v, got, want)
		}
	}
}

// TestGolden checks the table and JSON output of kappa_moves_first
// against testdata/*.golden.*; -update rewrites them.
func TestGolden(t *testing.T) {
	s := load(t, "kappa_moves_first.json")
	res := run(t, s)
	for _, g := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"kappa_moves_first.golden.txt", func(b *bytes.Buffer) error { return WriteTable(b, s, res) }},
		{"kappa_moves_first.golden.json", func(b *bytes.Buffer) error { return WriteJSON(b, s, res) }},
	} {
		var buf bytes.Buffer
		if err := g.write(&buf); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from the output (run go test -update and review the diff)\n%s", g.file, buf.String())
		}
	}
}

// TestJSONRoundTrip: WriteJSON's output is valid JSON whose epochs decode
// back to the results.
func TestJSONRoundTrip(t *testing.T) {
	s := load(t, "cabal_40pct.json")
	res := run(t, s)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s, res); err != nil {
		t.Fatal(err)
	}
	var got struct {
		N      int           `json:"n"`
		Names  []string      `json:"names"`
		Epochs []EpochResult `json:"epochs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.N != s.N || !slices.Equal(got.Names, s.Names) || !reflect.DeepEqual(got.Epochs, res) {
		t.Error("decoded JSON differs from the results")
	}
}

func TestSVG(t *testing.T) {
	for _, f := range []string{"kappa_moves_first.json", "cabal_40pct.json", "weight_copier.json"} {
		s := load(t, f)
		res := run(t, s)
		var buf bytes.Buffer
		if err := WriteSVG(&buf, s, res); err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(&buf)
		var root string
		polylines, texts := 0, 0
		for {
			tok, err := dec.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s: SVG is not XML: %v", f, err)
				}
				break
			}
			if se, ok := tok.(xml.StartElement); ok {
				if root == "" {
					root = se.Name.Local
				}
				switch se.Name.Local {
				case "polyline":
					polylines++
				case "text":
					texts++
				}
			}
		}
		if root != "svg" {
			t.Errorf("%s: root element %q", f, root)
		}
		// Two axes plus one line per plotted uid in each panel.
		lines := 0
		for _, pn := range layout(s, res).panels {
			lines += 1 + len(pn.uids)
		}
		if polylines != lines || lines < 4 {
			t.Errorf("%s: %d polylines, want %d", f, polylines, lines)
		}
		if texts < 10 {
			t.Errorf("%s: only %d text elements", f, texts)
		}
	}
}

func TestPNG(t *testing.T) {
	s := load(t, "weight_copier.json")
	res := run(t, s)
	var buf bytes.Buffer
	if err := WritePNG(&buf, s, res); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != PlotWidth || b.Dy() != PlotHeight {
		t.Errorf("PNG is %v, want %dx%d", b, PlotWidth, PlotHeight)
	}
	// The first line colour appears somewhere.
	c := paletteColor(0)
	found := false
	for y := 0; y < PlotHeight && !found; y++ {
		for x := 0; x < PlotWidth; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(b>>8) == c.B {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("no line drawn in the first colour")
	}

	// Text: dark pixels where the labels go, none where there is no text.
	dark := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if c := color.GrayModel.Convert(img.At(x, y)).(color.Gray); c.Y < 96 {
					n++
				}
			}
		}
		return n
	}
	p := layout(s, res)
	for pi, pn := range p.panels {
		for k, u := range pn.uids {
			label := p.legendLabel(u)
			x0, ly := int(p.x1+legendText), int(pn.legendY(k))
			box := image.Rect(x0, ly-7, x0+charWidth*len(label), ly+7)
			if n := dark(box); n < 8*len(label) {
				t.Errorf("panel %d legend %q: %d text pixels in %v", pi, label, n, box)
			}
			if n := dark(image.Rect(box.Max.X+2, ly-7, PlotWidth, ly+7)); n != 0 {
				t.Errorf("panel %d legend %q: %d stray pixels after the label", pi, label, n)
			}
		}
		checks := []struct {
			what string
			box  image.Rectangle
		}{
			{"title", image.Rect(int(p.x0), int(pn.y0)-24, int(p.x0)+100, int(pn.y0)-10)},
			{"y tick labels", image.Rect(int(p.x0)-40, int(pn.y0)-7, int(p.x0)-7, int(pn.y1)+7)},
			{"x tick labels", image.Rect(int(p.x0)-10, int(pn.y1)+6, int(p.x1)+10, int(pn.y1)+21)},
			{"epoch", image.Rect(int(p.x0+p.x1)/2-20, int(pn.y1)+23, int(p.x0+p.x1)/2+20, int(pn.y1)+37)},
			{"share (of 1)", image.Rect(int(p.x0)-62, int(pn.y0+pn.y1)/2-45, int(p.x0)-47, int(pn.y0+pn.y1)/2+45)},
		}
		for _, c := range checks {
			if n := dark(c.box); n < 20 {
				t.Errorf("panel %d %s: %d text pixels in %v", pi, c.what, n, c.box)
			}
		}
	}
	if n := dark(image.Rect(0, 0, PlotWidth, 10)); n != 0 {
		t.Errorf("%d dark pixels along the top edge", n)
	}

	// Deterministic.
	var again bytes.Buffer
	if err := WritePNG(&again, s, res); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	WritePNG(&buf, s, res)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two renderings differ")
	}
}

// TestPlotText: the SVG carries every text mark the PNG draws, and long
// names are cut to fit the legend.
func TestPlotText(t *testing.T) {
	s := load(t, "weight_copier.json")
	s.Names[5] = strings.Repeat("a very long miner name ", 3)
	res := run(t, s)
	var buf bytes.Buffer
	if err := WriteSVG(&buf, s, res); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	texts := 0
	for _, ms := range layout(s, res).scene() {
		for _, m := range ms {
			if tm, ok := m.(*textMark); ok {
				texts++
				if !strings.Contains(svg, ">"+tm.s+"</text>") {
					t.Errorf("SVG lacks text %q", tm.s)
				}
				if utf8.RuneCountInString(tm.s) > legendMaxRunes {
					t.Errorf("text %q is longer than %d runes", tm.s, legendMaxRunes)
				}
			}
		}
	}
	if want := "5 a very long..."; !strings.Contains(svg, ">"+want+"</text>") {
		t.Errorf("long name not cut to %q", want)
	}
	if texts < 2*(1+5+8+2+3) {
		t.Errorf("only %d text marks", texts)
	}
}

// TestPlotOneEpoch: a single epoch and an all-zero panel still render.
func TestPlotOneEpoch(t *testing.T) {
	s, err := ParseScenario([]byte(`{"n":2,"epochs":1,"stake":[1,0]}`))
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, s)
	var buf bytes.Buffer
	if err := WriteSVG(&buf, s, res); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(buf.Bytes(), new(struct{})); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := WritePNG(&buf, s, res); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseScenario(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && !strings.Contains(file, "golden") {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"n":2,"epochs":2,"stake":[1,0],"changes":[{"epoch":1,"copy":{"uid":0,"from":"consensus"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseScenario(data)
		if err != nil {
			return
		}
		if s.N*s.Epochs > 20_000 {
			return // valid but slow; Run's cost is not what is fuzzed
		}
		if _, err := Run(s); err != nil && !strings.Contains(err.Error(), "stake") {
			t.Fatalf("Run of a parsed scenario: %v", err)
		}
	})
}

// TestTwoMechanisms: each mechanism of testdata/two_mechanisms.json gets
// its share of the emission (70/30, as the chain splits it) and computes
// exactly what a one-mechanism scenario with its weights, changes and
// share computes; each epoch's Output is their aggregate, emission summed
// and the u16 terms weighted by the split. The copier copies mechanism 1
// only, and earns less there than the honest validators.
func TestTwoMechanisms(t *testing.T) {
	s := load(t, "two_mechanisms.json")
	res := run(t, s)
	shares := []uint64{s.Emission * 45875 / 65535, s.Emission * 19660 / 65535}
	shares[0] += s.Emission - shares[0] - shares[1]
	alone := func(m int) []EpochResult {
		one := *s
		one.Mechanisms, one.MechanismSplit, one.Emission = nil, nil, shares[m]
		if m > 0 {
			one.Weights, one.Changes = s.Mechanisms[m-1].Weights, s.Mechanisms[m-1].Changes
		}
		return run(t, &one)
	}
	singles := [][]EpochResult{alone(0), alone(1)}
	for e, r := range res {
		if len(r.Mechanisms) != 2 {
			t.Fatalf("epoch %d: %d mechanism results", e, len(r.Mechanisms))
		}
		for m, mr := range r.Mechanisms {
			if mr.Mechanism != m || mr.Emission != shares[m] || !reflect.DeepEqual(mr.Output, singles[m][e].Output) || !slices.Equal(mr.Copying, singles[m][e].Copying) {
				t.Fatalf("epoch %d mechanism %d: differs from the one-mechanism run of it", e, m)
			}
		}
		o, a, b := r.Output, r.Mechanisms[0].Output, r.Mechanisms[1].Output
		for u := range s.N {
			if o.Emission[u] != a.Emission[u]+b.Emission[u] {
				t.Fatalf("epoch %d uid %d: emission %d, mechanisms %d + %d", e, u, o.Emission[u], a.Emission[u], b.Emission[u])
			}
			if want := uint16((45875*uint64(a.Dividends[u]) + 19660*uint64(b.Dividends[u])) / 65535); o.Dividends[u] != want {
				t.Fatalf("epoch %d uid %d: dividends %d, want %d", e, u, o.Dividends[u], want)
			}
			if want := uint16((45875*uint64(a.Incentive[u]) + 19660*uint64(b.Incentive[u])) / 65535); o.Incentive[u] != want {
				t.Fatalf("epoch %d uid %d: incentive %d, want %d", e, u, o.Incentive[u], want)
			}
		}
		if r.Copying[2] || (e > 0 && !r.Mechanisms[1].Copying[2]) {
			t.Fatalf("epoch %d: the copier copies on mechanism 0 (%v) or not on 1 (%v)", e, r.Copying[2], r.Mechanisms[1].Copying[2])
		}
	}
	var honest, copier uint64
	for _, r := range res[6:] {
		honest += uint64(r.Mechanisms[1].Output.Dividends[0])
		copier += uint64(r.Mechanisms[1].Output.Dividends[2])
	}
	t.Logf("mechanism 1 dividends over epochs 6-11: V1 %d, Copier %d", honest, copier)
	if copier*350 >= honest*300 { // per unit of stake
		t.Errorf("on mechanism 1 the copier earns %d per 300 stake, V1 %d per 350", copier, honest)
	}
}

// TestMechanismParseErrors: the mechanisms' keys are checked like the
// rest, naming the field.
func TestMechanismParseErrors(t *testing.T) {
	base := `"n":3,"epochs":3,"stake":[1,1,0]`
	for _, tc := range []struct{ in, want string }{
		{`{` + base + `,"mechanisms":[{}],"mechanism_emission_split":[1,2]}`, `mechanism_emission_split: [1 2] sums to 3, want 65535`},
		{`{` + base + `,"mechanisms":[{}],"mechanism_emission_split":[65535]}`, `mechanism_emission_split: has 1 entries, want one per mechanism (2)`},
		{`{` + base + `,"mechanism_emission_split":[65535, 0]}`, `mechanism_emission_split: has 2 entries, want one per mechanism (1)`},
		{`{` + base + `,"mechanisms":[{"wieghts":[]}]}`, `mechanisms[0]: unknown key "wieghts"`},
		{`{` + base + `,"mechanisms":[{"weights":[[],[]]}]}`, `mechanisms[0].weights: has 2 rows, want n = 3`},
		{`{` + base + `,"mechanisms":[{"weights":[[[5,1]],[],[]]}]}`, `mechanisms[0].weights[0][0]: uid 5 is out of range (n = 3)`},
		{`{` + base + `,"mechanisms":[{"changes":[{"epoch":1,"stake":{"0":5}}]}]}`, `mechanisms[0].changes[0]: a mechanism's changes may set weights, copy, stop and resume`},
		{`{` + base + `,"mechanisms":[{},{},{},{},{},{},{},{}]}`, `mechanisms: 8 after mechanism 0, want at most 7`},
	} {
		_, err := ParseScenario([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseScenario(%s)\n got error %v\nwant one containing %q", tc.in, err, tc.want)
		}
	}
}
