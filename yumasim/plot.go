package yumasim

import (
	"bufio"
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The plot's size in pixels (SVG user units and PNG pixels alike).
const (
	PlotWidth  = 960
	PlotHeight = 680
)

// MaxPlotLines is how many uids a panel draws at most: those with the
// largest total over the run, among the uids with any non-zero value.
const MaxPlotLines = 10

// paletteColor is colour i of Tableau 10, one colour per line.
func paletteColor(i int) color.RGBA {
	tab10 := [...]color.RGBA{
		{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
		{188, 189, 34, 255}, {23, 190, 207, 255},
	}
	return tab10[i%len(tab10)]
}

// Plot geometry. Floats from here on are display only.
const (
	marginLeft   = 70.0
	marginRight  = 170.0
	panelTop     = 40.0
	panelGap     = 70.0
	marginBottom = 50.0
)

// panel is one chart: a title, the uids drawn and their series (values as
// proportions in [0, 1], one per epoch).
type panel struct {
	title  string
	uids   []int
	series [][]float64
	top    float64 // y value at the top of the axis
	step   float64 // y tick step
	y0, y1 float64 // pixel rows of the axis top and bottom
}

type plot struct {
	epochs     int
	xStep      int
	x0, x1     float64
	panels     []panel
	names      []string
	colorOfUID map[int]color.RGBA
}

// layout computes both panels (dividends above, incentive below).
func layout(s *Scenario, results []EpochResult) *plot {
	p := &plot{epochs: len(results), names: s.Names, x0: marginLeft, x1: PlotWidth - marginRight, colorOfUID: map[int]color.RGBA{}}
	p.xStep = niceInt(max(len(results)-1, 1))
	h := (PlotHeight - panelTop - panelGap - marginBottom) / 2
	for k, def := range []struct {
		title string
		get   func(r *EpochResult) []uint16
	}{
		{"Dividends per uid", func(r *EpochResult) []uint16 { return r.Output.Dividends }},
		{"Incentive per uid", func(r *EpochResult) []uint16 { return r.Output.Incentive }},
	} {
		pn := panel{title: def.title}
		pn.y0 = panelTop + float64(k)*(h+panelGap)
		pn.y1 = pn.y0 + h
		totals := make([]uint64, s.N)
		for i := range results {
			for u, v := range def.get(&results[i]) {
				totals[u] += uint64(v)
			}
		}
		for u, t := range totals {
			if t > 0 {
				pn.uids = append(pn.uids, u)
			}
		}
		if len(pn.uids) > MaxPlotLines {
			slices.SortStableFunc(pn.uids, func(a, b int) int { return cmp.Compare(totals[b], totals[a]) })
			pn.uids = pn.uids[:MaxPlotLines]
			slices.Sort(pn.uids)
		}
		peak := 0.0
		for _, u := range pn.uids {
			ser := make([]float64, len(results))
			for i := range results {
				ser[i] = float64(def.get(&results[i])[u]) / 65535
				peak = max(peak, ser[i])
			}
			pn.series = append(pn.series, ser)
			if _, ok := p.colorOfUID[u]; !ok && len(p.colorOfUID) < 2*MaxPlotLines {
				p.colorOfUID[u] = paletteColor(len(p.colorOfUID))
			}
		}
		pn.step = niceStep(peak)
		pn.top = math.Max(pn.step, math.Ceil(peak/pn.step-1e-9)*pn.step)
		p.panels = append(p.panels, pn)
	}
	return p
}

// niceStep is a tick step for [0, peak]: at most 5 ticks of 1, 2, 2.5 or 5
// times a power of ten.
func niceStep(peak float64) float64 {
	if peak <= 0 {
		return 0.25
	}
	for _, s := range []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25} {
		if peak/s <= 5 {
			return s
		}
	}
	return 0.25
}

// niceInt is an epoch tick step: 1, 2, 5, 10, 20, 50... with at most 10
// ticks over span.
func niceInt(span int) int {
	for s := 1; ; s *= 10 {
		for _, m := range []int{1, 2, 5} {
			if span/(s*m) <= 10 {
				return s * m
			}
		}
	}
}

func (p *plot) x(epoch int) float64 {
	return p.x0 + (p.x1-p.x0)*float64(epoch)/float64(max(p.epochs-1, 1))
}

func (pn *panel) y(v float64) float64 {
	return pn.y1 - (pn.y1-pn.y0)*v/pn.top
}

func (p *plot) color(uid int) color.RGBA {
	if c, ok := p.colorOfUID[uid]; ok {
		return c
	}
	return paletteColor(uid)
}

// formatTick formats a y tick with as many decimals as the step needs.
func formatTick(v, step float64) string {
	d := 0
	for s := step; s < 0.999 && d < 4; s *= 10 {
		d++
	}
	if math.Abs(step*math.Pow10(d)-math.Round(step*math.Pow10(d))) > 1e-9 {
		d++
	}
	return fmt.Sprintf("%.*f", d, v)
}

// Legend geometry, relative to the right end of the x axis and the top of
// a panel.
const (
	legendTop     = 8.0  // centre of the first row below the panel top
	legendRow     = 18.0 // row pitch
	legendSwatch0 = 15.0 // swatch start
	legendSwatch1 = 35.0 // swatch end
	legendText    = 42.0 // label start
	charWidth     = 7    // PNG glyph advance (basicfont.Face7x13)
	// legendMaxRunes is the longest legend label that fits in the right
	// margin; longer ones are cut and end in "...".
	legendMaxRunes = (int(marginRight) - int(legendText) - 4) / charWidth
)

// legendY is the vertical centre of legend row k of pn.
func (pn *panel) legendY(k int) float64 { return pn.y0 + legendTop + float64(k)*legendRow }

// legendLabel is the legend text of uid u, cut to legendMaxRunes.
func (p *plot) legendLabel(u int) string {
	s := fmt.Sprintf("%d %s", u, p.names[u])
	if utf8.RuneCountInString(s) <= legendMaxRunes {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:legendMaxRunes-3]), " ") + "..."
}

var (
	black = color.RGBA{0, 0, 0, 255}
	grey  = color.RGBA{128, 128, 128, 255}
	gridC = color.RGBA{224, 224, 224, 255}
)

// The plot is computed once as a list of marks (scene) that two small
// backends draw: WriteSVG as SVG elements, WritePNG as pixels.

// mark is a *lineMark or a *textMark.
type mark interface{ isMark() }

type point struct{ x, y float64 }

// lineMark is a polyline of the given stroke width. poly says whether the
// SVG writes it as a <polyline> (axes and series) rather than a <line>.
type lineMark struct {
	pts    []point
	stroke color.RGBA
	width  int
	poly   bool
}

// anchor is which part of a text sits at its x.
type anchor int

const (
	anchorStart anchor = iota
	anchorMiddle
	anchorEnd
)

// textMark is one label. y is its baseline, or its vertical centre when
// middle is set. A rotated text is turned 90° anticlockwise about (x, y)
// and reads upwards.
type textMark struct {
	x, y    float64
	s       string
	anchor  anchor
	middle  bool
	rotated bool
	title   bool // larger and bold
	fill    color.RGBA
}

func (*lineMark) isMark() {}
func (*textMark) isMark() {}

func seg(x0, y0, x1, y1 float64, c color.RGBA, width int) *lineMark {
	return &lineMark{pts: []point{{x0, y0}, {x1, y1}}, stroke: c, width: width}
}

// scene lists what each panel draws, in drawing order.
func (p *plot) scene() [][]mark {
	var out [][]mark
	for pi := range p.panels {
		pn := &p.panels[pi]
		ms := []mark{&textMark{x: p.x0, y: pn.y0 - 12, s: pn.title, title: true, fill: black}}
		for v := 0.0; v <= pn.top+1e-9; v += pn.step {
			y := pn.y(v)
			ms = append(ms, seg(p.x0, y, p.x1, y, gridC, 1), seg(p.x0-5, y, p.x0, y, black, 1),
				&textMark{x: p.x0 - 8, y: y, s: formatTick(v, pn.step), anchor: anchorEnd, middle: true, fill: black})
		}
		for e := 0; e < p.epochs; e += p.xStep {
			x := p.x(e)
			ms = append(ms, seg(x, pn.y1, x, pn.y1+5, black, 1),
				&textMark{x: x, y: pn.y1 + 18, s: fmt.Sprint(e), anchor: anchorMiddle, fill: black})
		}
		ms = append(ms,
			&lineMark{pts: []point{{p.x0, pn.y0}, {p.x0, pn.y1}, {p.x1, pn.y1}}, stroke: black, width: 1, poly: true},
			&textMark{x: (p.x0 + p.x1) / 2, y: pn.y1 + 34, s: "epoch", anchor: anchorMiddle, fill: black},
			&textMark{x: p.x0 - 50, y: (pn.y0 + pn.y1) / 2, s: "share (of 1)", anchor: anchorMiddle, rotated: true, fill: black})
		for k, u := range pn.uids {
			c := p.color(u)
			l := &lineMark{stroke: c, width: 2, poly: true}
			for e, v := range pn.series[k] {
				l.pts = append(l.pts, point{p.x(e), pn.y(v)})
			}
			if len(l.pts) == 1 { // one epoch: a short dash, visible
				q := l.pts[0]
				l.pts = []point{{q.x - 2, q.y}, {q.x + 2, q.y}}
			}
			ly := pn.legendY(k)
			ms = append(ms, l, seg(p.x1+legendSwatch0, ly, p.x1+legendSwatch1, ly, c, 3),
				&textMark{x: p.x1 + legendText, y: ly, s: p.legendLabel(u), middle: true, fill: black})
		}
		if len(pn.uids) == 0 {
			ms = append(ms, &textMark{x: (p.x0 + p.x1) / 2, y: (pn.y0 + pn.y1) / 2, s: "all zero", anchor: anchorMiddle, middle: true, fill: grey})
		}
		out = append(out, ms)
	}
	return out
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// WriteSVG writes a standalone SVG plot of results: two panels, dividends
// above and incentive below, each with axes, ticks, grid, a legend and one
// line per uid (at most MaxPlotLines, see there) over the epochs. s gives
// the names.
func WriteSVG(w io.Writer, s *Scenario, results []EpochResult) error {
	p := layout(s, results)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		PlotWidth, PlotHeight, PlotWidth, PlotHeight)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", PlotWidth, PlotHeight)
	for _, ms := range p.scene() {
		bw.WriteString(`<g class="panel">` + "\n")
		for _, m := range ms {
			switch m := m.(type) {
			case *lineMark:
				svgLine(bw, m)
			case *textMark:
				svgText(bw, m)
			}
			bw.WriteByte('\n')
		}
		bw.WriteString("</g>\n")
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

func svgLine(bw *bufio.Writer, l *lineMark) {
	width := ""
	if l.width != 1 {
		width = fmt.Sprintf(` stroke-width="%d"`, l.width)
	}
	if !l.poly && len(l.pts) == 2 {
		fmt.Fprintf(bw, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"%s/>`,
			ftoa(l.pts[0].x), ftoa(l.pts[0].y), ftoa(l.pts[1].x), ftoa(l.pts[1].y), hex(l.stroke), width)
		return
	}
	fmt.Fprintf(bw, `<polyline fill="none" stroke="%s"%s points="`, hex(l.stroke), width)
	for i, q := range l.pts {
		if i > 0 {
			bw.WriteByte(' ')
		}
		bw.WriteString(ftoa(q.x) + "," + ftoa(q.y))
	}
	bw.WriteString(`"/>`)
}

func svgText(bw *bufio.Writer, t *textMark) {
	var a strings.Builder
	if t.rotated {
		fmt.Fprintf(&a, ` transform="translate(%s,%s) rotate(-90)"`, ftoa(t.x), ftoa(t.y))
	} else {
		fmt.Fprintf(&a, ` x="%s" y="%s"`, ftoa(t.x), ftoa(t.y))
	}
	switch t.anchor {
	case anchorMiddle:
		a.WriteString(` text-anchor="middle"`)
	case anchorEnd:
		a.WriteString(` text-anchor="end"`)
	}
	if t.middle {
		a.WriteString(` dominant-baseline="middle"`)
	}
	if t.title {
		a.WriteString(` font-size="14" font-weight="bold"`)
	}
	if t.fill != black {
		fmt.Fprintf(&a, ` fill="%s"`, hex(t.fill))
	}
	fmt.Fprintf(bw, `<text%s>%s</text>`, a.String(), xmlEscape(t.s))
}

// WritePNG writes the same plot as WriteSVG, from the same marks, as a
// PlotWidth×PlotHeight PNG. Text is drawn in the fixed 7×13 bitmap font of
// golang.org/x/image/font/basicfont (titles in a doubled bold), so the
// output is deterministic; runes outside ASCII show as a replacement box.
func WritePNG(w io.Writer, s *Scenario, results []EpochResult) error {
	p := layout(s, results)
	img := image.NewRGBA(image.Rect(0, 0, PlotWidth, PlotHeight))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for _, ms := range p.scene() {
		for _, m := range ms {
			switch m := m.(type) {
			case *lineMark:
				for i := 1; i < len(m.pts); i++ {
					line(img, m.pts[i-1].x, m.pts[i-1].y, m.pts[i].x, m.pts[i].y, m.stroke, m.width)
				}
			case *textMark:
				drawText(img, m)
			}
		}
	}
	return png.Encode(w, img)
}

// pngMiddleDrop is how far below a text's vertical centre its baseline
// lies in basicfont.Face7x13 (digits and capitals are 9 pixels high).
const pngMiddleDrop = 4

// drawText renders t into an alpha mask with basicfont and composites the
// mask onto img, turned when t is rotated.
func drawText(img *image.RGBA, t *textMark) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, t.s).Ceil()
	if t.title {
		w++
	}
	mask := image.NewAlpha(image.Rect(0, 0, w, face.Ascent+face.Descent))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(t.s)
	if t.title {
		d.Dot = fixed.P(1, face.Ascent)
		d.DrawString(t.s)
	}
	// (dx, dy): the mask's top left relative to the anchor point in the
	// text's own (unrotated) frame.
	dx, dy := 0, -face.Ascent
	switch t.anchor {
	case anchorMiddle:
		dx = -w / 2
	case anchorEnd:
		dx = -w
	}
	if t.middle {
		dy += pngMiddleDrop
	}
	bx, by := int(math.Round(t.x)), int(math.Round(t.y))
	for j := 0; j < mask.Rect.Dy(); j++ {
		for i := 0; i < w; i++ {
			a := uint32(mask.AlphaAt(i, j).A)
			if a == 0 {
				continue
			}
			u, v := dx+i, dy+j
			x, y := bx+u, by+v
			if t.rotated {
				x, y = bx+v, by-u
			}
			if !image.Pt(x, y).In(img.Rect) {
				continue
			}
			bg := img.RGBAAt(x, y)
			mix := func(f, b uint8) uint8 { return uint8((uint32(f)*a + uint32(b)*(255-a) + 127) / 255) }
			img.SetRGBA(x, y, color.RGBA{mix(t.fill.R, bg.R), mix(t.fill.G, bg.G), mix(t.fill.B, bg.B), 255})
		}
	}
}

// line draws a segment of the given thickness by stepping along its longer
// axis and filling a square at each step.
func line(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA, width int) {
	steps := int(math.Ceil(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))))
	half := width / 2
	for i := 0; i <= steps; i++ {
		t := 0.0
		if steps > 0 {
			t = float64(i) / float64(steps)
		}
		cx := int(math.Round(x0 + (x1-x0)*t))
		cy := int(math.Round(y0 + (y1-y0)*t))
		for dy := -half; dy < width-half; dy++ {
			for dx := -half; dx < width-half; dx++ {
				if image.Pt(cx+dx, cy+dy).In(img.Rect) {
					img.SetRGBA(cx+dx, cy+dy, c)
				}
			}
		}
	}
}
