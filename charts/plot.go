package charts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Plot is the geometry of the dashboard's chart, for a server-rendered
// inline SVG whose look comes from the page's CSS (no inline style, so the
// Content-Security-Policy needs no exception): spend as bars on the left
// axis, results as a line with a dot per day on the right axis.
type Plot struct {
	Width, Height            int
	Left, Right, Top, Bottom float64 // the plot area, in SVG units
	Bars                     []Bar
	Dots                     []Dot
	Line                     string // the results line, as SVG points "x,y x,y"
	SpendTicks, ResultTicks  []Tick // y labels at their height
	XLabels                  []Tick // dates at their x
	SpendTitle, ResultsTitle string
}

// Bar is one day's spend.
type Bar struct {
	X, Y, W, H float64
	Date       string // "Nov 3"
	Value      string
}

// Dot is one day's results.
type Dot struct {
	X, Y  float64
	Date  string
	Value string
}

// Tick is an axis label at a position.
type Tick struct {
	Pos   float64
	Label string
}

// Layout computes the chart of points (sorted by date here) in a
// width×height box; ErrNoData without points.
func Layout(points []Point, o Options) (Plot, error) {
	pts, w, h, err := prepare(points, o)
	if err != nil {
		return Plot{}, err
	}
	spend, results := make([]float64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		spend[i], results[i] = max(finite(p.Spend), 0), max(finite(p.Results), 0)
	}
	spendTop, _ := axisTop(spend, []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8})
	resultsTop, _ := axisTop(results, []float64{1, 2, 2.5, 3, 4, 5, 6, 8})
	p := Plot{Width: w, Height: h, Left: 70, Right: float64(w) - 60, Top: 20, Bottom: float64(h) - 40,
		SpendTitle: SpendLabel(o.Currency), ResultsTitle: ResultsLabel}
	plotW, plotH := p.Right-p.Left, p.Bottom-p.Top
	slot := plotW / float64(len(pts))
	barW := min(slot*0.6, maxBarPx)
	y := func(v, top float64) float64 { return p.Bottom - v/top*plotH }
	var line []string
	for i, pt := range pts {
		cx := p.Left + slot*(float64(i)+0.5)
		date := pt.Date.Format(DateLayout)
		by := y(spend[i], spendTop)
		p.Bars = append(p.Bars, Bar{X: round1(cx - barW/2), Y: round1(by), W: round1(barW), H: round1(p.Bottom - by),
			Date: date, Value: formatValue(spend[i], 2)})
		dy := y(results[i], resultsTop)
		p.Dots = append(p.Dots, Dot{X: round1(cx), Y: round1(dy), Date: date, Value: formatValue(results[i], 2)})
		line = append(line, fmt.Sprintf("%s,%s", num(round1(cx)), num(round1(dy))))
	}
	p.Line = strings.Join(line, " ")
	for k := range yIntervals + 1 {
		frac := float64(k) / yIntervals
		pos := round1(p.Bottom - frac*plotH)
		p.SpendTicks = append(p.SpendTicks, Tick{Pos: pos, Label: formatValue(spendTop*frac, 2)})
		p.ResultTicks = append(p.ResultTicks, Tick{Pos: pos, Label: formatValue(resultsTop*frac, 2)})
	}
	for i, label := range xLabels(pts, slot) {
		if label != "" {
			p.XLabels = append(p.XLabels, Tick{Pos: round1(p.Left + slot*(float64(i)+0.5)), Label: label})
		}
	}
	return p, nil
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// num prints a coordinate without trailing zeros.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// formatValue prints an axis or tooltip value: thousands as "12.5k",
// millions as "1.2M", else at most places decimals without trailing zeros.
func formatValue(v float64, places int) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strconv.FormatFloat(math.Round(v/1e5)/10, 'f', -1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(math.Round(v/100)/10, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(math.Round(v*math.Pow(10, float64(places)))/math.Pow(10, float64(places)), 'f', -1, 64)
}
