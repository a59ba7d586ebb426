package charts

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	gc "github.com/go-analyze/charts"
)

// days returns n daily points starting on 2025-11-03 with non-zero values.
func days(n int) []Point {
	d0 := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{
			Date:    d0.AddDate(0, 0, i),
			Spend:   40 + float64((i*37)%90) + 0.25,
			Results: float64(1 + (i*7)%11),
		}
	}
	return pts
}

// svgDoc is what the tests read out of a rendered SVG.
type svgDoc struct {
	root  string
	texts []string
	elems []svgElem
}

type svgElem struct{ name, d, style string }

func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	dec := xml.NewDecoder(bytes.NewReader(b))
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if doc.root == "" {
				doc.root = tok.Name.Local
			}
			e := svgElem{name: tok.Name.Local}
			for _, a := range tok.Attr {
				switch a.Name.Local {
				case "d":
					e.d = a.Value
				case "style":
					e.style = a.Value
				}
			}
			doc.elems = append(doc.elems, e)
			inText = e.name == "text"
		case xml.CharData:
			if inText {
				doc.texts = append(doc.texts, string(tok))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return doc
}

func (d svgDoc) count(name string, styleParts ...string) (n int, last svgElem) {
	for _, e := range d.elems {
		ok := e.name == name
		for _, p := range styleParts {
			ok = ok && strings.Contains(e.style, p)
		}
		if ok {
			n, last = n+1, e
		}
	}
	return n, last
}

func TestSVGStructure(t *testing.T) {
	spendColor := gc.GetTheme(gc.ThemeLight).GetSeriesColor(0).String()
	resultsColor := gc.GetTheme(gc.ThemeLight).GetSeriesColor(1).String()
	for _, n := range []int{1, 7, 30, 90} {
		pts := days(n)
		b, err := SVG(pts, Options{Title: "Spend & results <30d>", Currency: "usd"})
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		s := string(b)
		if !strings.HasPrefix(s, "<svg") || strings.Contains(s, "<?xml") {
			t.Errorf("n=%d: SVG must start with <svg and carry no prolog: %.40q", n, s)
		}
		if strings.Contains(strings.ToLower(s), "<script") {
			t.Errorf("n=%d: SVG contains a script", n)
		}
		doc := parseSVG(t, b)
		if doc.root != "svg" {
			t.Errorf("n=%d: root element %q", n, doc.root)
		}
		first, last := pts[0].Date.Format("Jan 2"), pts[n-1].Date.Format("Jan 2")
		for _, want := range []string{"Spend & results <30d>", "Spend (USD)", "Results", first, last} {
			if !slices.Contains(doc.texts, want) {
				t.Errorf("n=%d: no text %q in %q", n, want, doc.texts)
			}
		}
		dates := 0
		for _, txt := range doc.texts {
			if _, err := time.Parse("Jan 2", txt); err == nil {
				dates++
			}
		}
		if dates > maxXLabels || (n >= 2 && dates < 2) {
			t.Errorf("n=%d: %d date labels", n, dates)
		}
		// Spend: one bar per day.
		if bars, _ := doc.count("path", "stroke:none", "fill:"+spendColor); bars != n {
			t.Errorf("n=%d: %d spend bars", n, bars)
		}
		// Results: one marker per day, or (dense data, no markers) one
		// line vertex per day.
		if n <= maxMarkers {
			if marks, _ := doc.count("circle", "stroke:"+resultsColor, "fill:white"); marks != n {
				t.Errorf("n=%d: %d results markers", n, marks)
			}
		} else {
			_, line := doc.count("path", "stroke-width:2;stroke:"+resultsColor)
			if v := strings.Count(line.d, "\n") + 1; v != n {
				t.Errorf("n=%d: results line has %d vertices", n, v)
			}
		}
	}
}

func TestSVGDeterministic(t *testing.T) {
	o := Options{Title: "Last 30 days", Currency: "EUR"}
	a, err := SVG(days(30), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SVG(days(30), o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("same input rendered to different SVG")
	}
	// Input order does not matter: points are sorted by date.
	rev := days(30)
	slices.Reverse(rev)
	c, err := SVG(rev, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, c) {
		t.Fatal("reversed input rendered differently")
	}
}

func TestPNGSize(t *testing.T) {
	cases := []struct {
		n, w, h, wantW, wantH int
	}{
		{1, 0, 0, DefaultWidth, DefaultHeight},
		{30, 0, 0, DefaultWidth, DefaultHeight},
		{90, 640, 320, 640, 320},
	}
	for _, c := range cases {
		b, err := PNG(days(c.n), Options{Title: "Daily", Currency: "USD", Width: c.w, Height: c.h})
		if err != nil {
			t.Fatalf("n=%d: %v", c.n, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("n=%d: not a PNG: %v", c.n, err)
		}
		if got := img.Bounds().Size(); got.X != c.wantW || got.Y != c.wantH {
			t.Errorf("n=%d: size %v, want %dx%d", c.n, got, c.wantW, c.wantH)
		}
	}
}

func TestNoData(t *testing.T) {
	if _, err := PNG(nil, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("PNG(nil) error = %v", err)
	}
	if _, err := SVG([]Point{}, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("SVG(empty) error = %v", err)
	}
}

func TestDegenerateValues(t *testing.T) {
	pts := days(5)
	for i := range pts {
		pts[i].Spend, pts[i].Results = 0, 0
	}
	pts[2].Spend = math.NaN()
	pts[3].Results = math.Inf(1)
	if _, err := PNG(pts, Options{}); err != nil {
		t.Errorf("all-zero/NaN PNG: %v", err)
	}
	b, err := SVG(pts, Options{})
	if err != nil {
		t.Fatalf("all-zero/NaN SVG: %v", err)
	}
	if doc := parseSVG(t, b); !slices.Contains(doc.texts, "Spend") {
		t.Errorf("no currency: spend axis should read %q, texts %q", "Spend", doc.texts)
	}
}

func TestXLabels(t *testing.T) {
	for _, c := range []struct {
		n       int
		slotW   float64
		wantMax int
	}{{1, 600, 1}, {10, 63, 10}, {30, 21, 10}, {90, 7, 10}, {30, 7.7, 4}} {
		labels := xLabels(days(c.n), c.slotW)
		shown, prev := 0, -1
		for i, l := range labels {
			if l == "" {
				continue
			}
			if prev >= 0 && float64(i-prev)*c.slotW < minLabelGapPx && c.n > 2 {
				t.Errorf("n=%d: labels %d and %d too close", c.n, prev, i)
			}
			shown, prev = shown+1, i
		}
		if labels[0] != "Nov 3" || labels[c.n-1] == "" || shown > c.wantMax {
			t.Errorf("n=%d: first %q, last %q, %d shown", c.n, labels[0], labels[c.n-1], shown)
		}
	}
}

func BenchmarkPNG30Days(b *testing.B) {
	pts := days(30)
	o := Options{Title: "Last 30 days", Currency: "USD"}
	for b.Loop() {
		if _, err := PNG(pts, o); err != nil {
			b.Fatal(err)
		}
	}
}
