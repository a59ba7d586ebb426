// Package charts renders the daily spend and results chart used by reports
// (PNG for Telegram photos and inline email images) and by the dashboard
// (inline, server-rendered SVG).
//
// Rendering is delegated to github.com/go-analyze/charts, which embeds its
// own fonts (Roboto): no system font, file or network access is needed.
package charts

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	gc "github.com/go-analyze/charts"
)

// ErrNoData is returned when there is nothing to draw; callers should show an
// empty state instead of a chart.
var ErrNoData = errors.New("charts: no data points")

// Default dimensions, in pixels.
const (
	DefaultWidth  = 800
	DefaultHeight = 400
)

// Layout constants, in pixels unless noted.
const (
	maxXLabels    = 10  // date labels on the x axis, at most
	minLabelGapPx = 60  // between two date labels ("Nov 30" is ~48px)
	axesWidth     = 170 // both y axes with their titles, roughly
	maxBarPx      = 48  // widest spend bar
	maxMarkers    = 60  // beyond this many points the results line has no markers
	yIntervals    = 5   // steps on each y axis
)

// DateLayout is the time layout of the x-axis labels ("Nov 3").
const DateLayout = "Jan 2"

// Point is one day of data.
type Point struct {
	Date    time.Time
	Spend   float64
	Results float64 // conversions
}

// Options configures a chart.
type Options struct {
	Title    string
	Currency string // ISO code shown on the spend axis and legend, e.g. "USD"
	Width    int    // default DefaultWidth
	Height   int    // default DefaultHeight
}

// PNG renders points as a PNG image of o.Width×o.Height pixels.
func PNG(points []Point, o Options) ([]byte, error) {
	return render(points, o, gc.ChartOutputPNG)
}

// SVG renders points as an SVG document suitable for inline embedding in
// HTML: no XML prolog, no script, sized by its viewBox. Output is
// deterministic for the same input.
func SVG(points []Point, o Options) ([]byte, error) {
	b, err := render(points, o, gc.ChartOutputSVG)
	if err != nil {
		return nil, err
	}
	return stripProlog(b), nil
}

// SpendLabel is the spend series / axis name, e.g. "Spend (USD)".
func SpendLabel(currency string) string {
	currency = strings.TrimSpace(currency)
	if currency == "" {
		return "Spend"
	}
	return "Spend (" + strings.ToUpper(currency) + ")"
}

// ResultsLabel is the results series / axis name.
const ResultsLabel = "Results"

// prepare sorts a copy of points by date and resolves the size.
func prepare(points []Point, o Options) (pts []Point, w, h int, err error) {
	if len(points) == 0 {
		return nil, 0, 0, ErrNoData
	}
	w, h = o.Width, o.Height
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	pts = slices.Clone(points)
	slices.SortStableFunc(pts, func(a, b Point) int { return a.Date.Compare(b.Date) })
	return pts, w, h, nil
}

func render(points []Point, o Options, format string) ([]byte, error) {
	pts, w, h, err := prepare(points, o)
	if err != nil {
		return nil, err
	}
	spend := make([]float64, len(pts))
	results := make([]float64, len(pts))
	for i, p := range pts {
		spend[i] = finite(p.Spend)
		results[i] = finite(p.Results)
	}

	spendName := SpendLabel(o.Currency)
	plotW := float64(max(w-axesWidth, 100)) // rough plot width, for label and bar spacing
	slotW := plotW / float64(len(pts))
	opt := gc.ChartOption{
		OutputFormat: format,
		Width:        w,
		Height:       h,
		Theme:        gc.GetTheme(gc.ThemeLight),
		Title:        gc.TitleOption{Text: o.Title},
		Legend: gc.LegendOption{
			SeriesNames: []string{spendName, ResultsLabel},
			Offset:      gc.OffsetRight,
		},
		XAxis: gc.XAxisOption{
			Labels: xLabels(pts, slotW),
			// Labels are pre-thinned (see xLabels); an explicit count equal to
			// the data count stops the library from dropping more of them.
			LabelCount: len(pts),
		},
		YAxis: []gc.YAxisOption{
			valueAxis(spendName, spend, []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8}),
			valueAxis(ResultsLabel, results, []float64{1, 2, 2.5, 3, 4, 5, 6, 8}),
		},
		SeriesList: gc.GenericSeriesList{
			{Type: gc.ChartTypeBar, Name: spendName, Values: spend},
			{Type: gc.ChartTypeLine, Name: ResultsLabel, Values: results, YAxisIndex: 1},
		},
		// Bars take 60% of their slot but stay at most maxBarPx wide, so a
		// chart of a few days does not turn into wide blocks.
		BarSize: min(0.6, maxBarPx/slotW),
	}
	if len(pts) > maxMarkers {
		opt.Symbol.Shape = gc.SymbolNone // markers only clutter dense lines
	}
	p, err := gc.Render(opt)
	if err != nil {
		return nil, fmt.Errorf("charts: render: %w", err)
	}
	b, err := p.Bytes()
	if err != nil {
		return nil, fmt.Errorf("charts: encode %s: %w", format, err)
	}
	return b, nil
}

// xLabels formats each date as "Nov 3" and blanks the others so that at most
// maxXLabels remain, at least minLabelGapPx apart, spread evenly and always
// including the first and the last. The library skips empty labels.
func xLabels(pts []Point, slotW float64) []string {
	n := len(pts)
	count := min(n, maxXLabels)
	for count > 2 && float64((n-1)/(count-1))*slotW < minLabelGapPx {
		count--
	}
	labels := make([]string, n)
	if count == n {
		for i, p := range pts {
			labels[i] = p.Date.Format(DateLayout)
		}
		return labels
	}
	for k := range count {
		i := int(math.Round(float64(k) * float64(n-1) / float64(count-1)))
		labels[i] = pts[i].Date.Format(DateLayout)
	}
	return labels
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// valueAxis builds a y axis from 0 to a round maximum with yIntervals equal
// steps, each step being one of nice×10^k. Both axes use the same number of
// steps so their grid lines coincide. With a negative value the library
// chooses the range itself. Whole-number data gets whole-number steps.
func valueAxis(title string, vals []float64, nice []float64) gc.YAxisOption {
	axis := gc.YAxisOption{Title: title}
	top, ok := axisTop(vals, nice)
	if !ok {
		return axis
	}
	axis.Min = gc.Ptr(0.0)
	axis.Max = gc.Ptr(top)
	axis.LabelCount = yIntervals + 1
	return axis
}

// axisTop is the round top of a 0-based axis with yIntervals equal steps of
// nice×10^k each (whole numbers for whole data); ok is false when a value
// is negative.
func axisTop(vals []float64, nice []float64) (top float64, ok bool) {
	hi, whole := 0.0, true
	for _, v := range vals {
		if v < 0 {
			return 0, false
		}
		hi, whole = max(hi, v), whole && v == math.Trunc(v)
	}
	step := 1.0
	if raw := hi / yIntervals; raw > 0 {
		exp := math.Pow(10, math.Floor(math.Log10(raw)))
		step = nice[len(nice)-1] * exp
		for _, m := range nice {
			if m*exp >= raw*(1-1e-9) {
				step = m * exp
				break
			}
		}
	}
	if whole {
		step = max(step, 1)
	}
	return step * yIntervals, true
}

// stripProlog drops a leading XML declaration and doctype, if any, so the
// SVG can be placed inline in an HTML page.
func stripProlog(b []byte) []byte {
	for {
		b = bytes.TrimLeft(b, " \t\r\n\ufeff")
		if !bytes.HasPrefix(b, []byte("<?")) && !bytes.HasPrefix(b, []byte("<!DOCTYPE")) {
			return b
		}
		end := bytes.IndexByte(b, '>')
		if end < 0 {
			return b
		}
		b = b[end+1:]
	}
}
