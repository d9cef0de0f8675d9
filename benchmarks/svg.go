package benchmarks

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// bar is one bar of a horizontal bar chart.
type bar struct {
	Label string
	Value float64
	Color string
	Text  string // printed after the bar
}

// barChart renders horizontal bars, one per row, scaled to the largest
// |value|; negative values grow left of a centre line when signed.
func barChart(title, axis string, bars []bar, signed bool) string {
	return drawBars(title, axis, bars, signed, func(v float64) float64 { return v })
}

// logBarChart is barChart with bar lengths on a log scale (log10(1+v)), for
// values spanning orders of magnitude (a victim's 5 ms next to 4 s), where a
// linear scale leaves every small bar invisible.
func logBarChart(title, axis string, bars []bar) string {
	return drawBars(title, axis+" — log scale", bars, false, func(v float64) float64 { return math.Log10(1 + math.Abs(v)) })
}

func drawBars(title, axis string, bars []bar, signed bool, length func(float64) float64) string {
	const labelW, barW, rowH, top = 300, 420, 22, 40
	h := top + rowH*len(bars) + 30
	w := labelW + barW + 130
	maxV := 0.0
	for _, b := range bars {
		maxV = math.Max(maxV, length(math.Abs(b.Value)))
	}
	if maxV == 0 {
		maxV = 1
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	x0, scale := float64(labelW), float64(barW)/maxV
	if signed {
		x0, scale = float64(labelW)+float64(barW)/2, float64(barW)/2/maxV
	}
	for i, b := range bars {
		y := top + i*rowH
		bw := length(math.Abs(b.Value)) * scale
		bx := x0
		if b.Value < 0 {
			bx = x0 - bw
		}
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-6, y+14, html.EscapeString(b.Label))
		fmt.Fprintf(&s, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`, bx, y+3, math.Max(bw, 1), rowH-6, b.Color)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d">%s</text>`+"\n", math.Max(x0, bx+bw)+4, y+14, html.EscapeString(b.Text))
	}
	fmt.Fprintf(&s, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`, x0, top, x0, top+rowH*len(bars))
	fmt.Fprintf(&s, `<text x="%d" y="%d" fill="#555">%s</text></svg>`+"\n", labelW, h-8, html.EscapeString(axis))
	return s.String()
}

func (r Report) charts() map[string]string {
	out := map[string]string{}
	var fid []bar
	for _, x := range r.section(Fidelity) {
		if x.ErrorPct == nil {
			continue
		}
		c := "#2e7d32"
		if abs(*x.ErrorPct) > 5 {
			c = "#c62828"
		} else if abs(*x.ErrorPct) > 2 {
			c = "#f9a825"
		}
		fid = append(fid, bar{x.Case, *x.ErrorPct, c, fmt.Sprintf("%+.2f%%", *x.ErrorPct)})
	}
	out["fidelity.svg"] = barChart("Fidelity: achieved vs set, error %", "error % (achieved−set)/set; green ≤2%, amber ≤5%, red >5%", fid, true)
	var prot []bar
	for _, x := range r.section(Protection) {
		if x.Err != "" {
			continue
		}
		prot = append(prot, bar{x.Case + " p50", x.Extra["p50_ms"], "#90caf9", fmt.Sprintf("%.2f ms", x.Extra["p50_ms"])},
			bar{x.Case + " p99", x.Extra["p99_ms"], "#1565c0", fmt.Sprintf("%.2f ms (thr %.2f)", x.Extra["p99_ms"], x.Extra["throughput_ratio"])})
	}
	out["protection.svg"] = logBarChart("Protection: victim latency per scenario", "victim request latency, ms (guest wall clock)", prot)
	var re []bar
	for _, x := range r.section(Reaction) {
		if x.Err != "" {
			continue
		}
		re = append(re, bar{x.Case + " p50", x.Extra["p50_s"], "#ffcc80", fmt.Sprintf("%.2f s", x.Extra["p50_s"])},
			bar{x.Case + " p99", x.Extra["p99_s"], "#ef6c00", fmt.Sprintf("%.2f s", x.Extra["p99_s"])})
	}
	out["reaction.svg"] = logBarChart("Reaction: antagonist onset → first action", "seconds (guest wall clock)", re)
	out["overhead.svg"] = linePanels("Overhead vs cgroup count (quelld)", overheadSeries(r.section(Overhead)))
	return out
}
