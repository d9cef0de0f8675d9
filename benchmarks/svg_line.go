package benchmarks

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
)

// series is one panel of a small-multiples line chart: y against x.
type series struct {
	Title string
	Unit  string
	X, Y  []float64
}

// linePanels renders one panel per series side by side, x on a log scale
// (cgroup counts span decades), each point labelled with its value.
func linePanels(title string, ss []series) string {
	const pw, ph, pad, top = 230, 170, 40, 40
	w := len(ss)*(pw+20) + 20
	h := top + ph + 60
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", w, h)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	for i, se := range ss {
		ox := 20 + i*(pw+20)
		fmt.Fprintf(&s, `<text x="%d" y="%d" font-weight="bold">%s (%s)</text>`, ox, top, html.EscapeString(se.Title), html.EscapeString(se.Unit))
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", ox, top+8, pw, ph)
		if len(se.X) == 0 {
			continue
		}
		minX, maxX := math.Log10(se.X[0]), math.Log10(se.X[len(se.X)-1])
		if maxX == minX {
			maxX = minX + 1
		}
		maxY := 0.0
		for _, y := range se.Y {
			maxY = math.Max(maxY, y)
		}
		if maxY <= 0 {
			maxY = 1
		}
		px := func(x float64) float64 { return float64(ox+pad/2) + (math.Log10(x)-minX)/(maxX-minX)*float64(pw-pad) }
		py := func(y float64) float64 { return float64(top+8+ph-15) - y/maxY*float64(ph-40) }
		var pts []string
		for j := range se.X {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(se.X[j]), py(se.Y[j])))
		}
		fmt.Fprintf(&s, `<polyline points="%s" fill="none" stroke="#6a1b9a" stroke-width="2"/>`, strings.Join(pts, " "))
		for j := range se.X {
			fmt.Fprintf(&s, `<circle cx="%.1f" cy="%.1f" r="3" fill="#6a1b9a"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
				px(se.X[j]), py(se.Y[j]), px(se.X[j]), py(se.Y[j])-6, fmtNum(se.Y[j]))
			fmt.Fprintf(&s, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", px(se.X[j]), top+8+ph+14, fmtNum(se.X[j]))
		}
	}
	fmt.Fprintf(&s, `<text x="20" y="%d" fill="#555">x: number of cgroups (log scale)</text></svg>`+"\n", h-10)
	return s.String()
}

// overheadSeries groups the overhead results by figure, sorted by count.
func overheadSeries(rs []Result) []series {
	by := map[string]*series{}
	var order []string
	for _, x := range rs {
		if x.Err != "" || x.Achieved < 0 {
			continue
		}
		se, ok := by[x.Control]
		if !ok {
			se = &series{Title: x.Control, Unit: x.Unit}
			by[x.Control] = se
			order = append(order, x.Control)
		}
		se.X = append(se.X, x.Extra["cgroups"])
		se.Y = append(se.Y, x.Achieved)
	}
	var out []series
	for _, k := range order {
		se := by[k]
		idx := make([]int, len(se.X))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return se.X[idx[a]] < se.X[idx[b]] })
		s2 := series{Title: se.Title, Unit: se.Unit}
		for _, i := range idx {
			s2.X, s2.Y = append(s2.X, se.X[i]), append(s2.Y, se.Y[i])
		}
		out = append(out, s2)
	}
	return out
}
