package charts

import (
	"errors"
	"testing"
	"time"
)

func TestLayout(t *testing.T) {
	if _, err := Layout(nil, Options{}); !errors.Is(err, ErrNoData) {
		t.Fatalf("no points: %v", err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var pts []Point
	for i := range 30 {
		pts = append(pts, Point{Date: start.AddDate(0, 0, 29-i), Spend: float64(100 + i), Results: float64(i % 7)})
	}
	p, err := Layout(pts, Options{Currency: "eur", Width: 800, Height: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Bars) != 30 || len(p.Dots) != 30 || p.SpendTitle != "Spend (EUR)" {
		t.Fatalf("%d bars, %d dots, title %q", len(p.Bars), len(p.Dots), p.SpendTitle)
	}
	// Sorted by date; the tallest bar is the largest spend, within the plot.
	if p.Bars[0].Date != "Nov 1" || p.Bars[29].Date != "Nov 30" {
		t.Fatalf("first and last bars: %s, %s", p.Bars[0].Date, p.Bars[29].Date)
	}
	for i, b := range p.Bars {
		if b.Y < p.Top || b.Y+b.H > p.Bottom+0.1 || b.X < p.Left || b.X+b.W > p.Right {
			t.Fatalf("bar %d outside the plot: %+v", i, b)
		}
		if i > 0 && b.X <= p.Bars[i-1].X {
			t.Fatalf("bars not left to right at %d", i)
		}
	}
	if p.Bars[0].Value != "129" || p.Bars[0].H <= p.Bars[29].H {
		t.Fatalf("Nov 1 spent 129 and is the tallest: %+v vs %+v", p.Bars[0], p.Bars[29])
	}
	// 6 ticks from 0 to a round top at or above the maximum.
	if len(p.SpendTicks) != 6 || p.SpendTicks[0].Label != "0" || p.SpendTicks[5].Label != "150" {
		t.Fatalf("spend ticks %+v", p.SpendTicks)
	}
	if p.ResultTicks[5].Label != "10" {
		t.Fatalf("result ticks %+v", p.ResultTicks)
	}
	if n := len(p.XLabels); n < 2 || n > maxXLabels || p.XLabels[0].Label != "Nov 1" || p.XLabels[n-1].Label != "Nov 30" {
		t.Fatalf("x labels %+v", p.XLabels)
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 2.5: "2.5", 1.006: "1.01", 12500: "12.5k", 2_340_000: "2.3M", 150: "150"} {
		if got := formatValue(v, 2); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}
