package benchmarks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Report is everything one run produced.
type Report struct {
	Date    time.Time `json:"date"`
	On      []string  `json:"on"`      // environments (kernel, guest)
	Smoke   bool      `json:"smoke"`   // only the smoke cases ran
	Results []Result  `json:"results"` // every case
	GoBench string    `json:"go_bench,omitempty"`
	GoOn    string    `json:"go_bench_on,omitempty"`
	// Full: the whole suite ran (no --only, not smoke), so every required
	// target must have a row; a missing one is a MISS "not measured".
	Full bool `json:"full,omitempty"`
}

// Verdicts judges every result against Targets (benchmarks/targets.go).
func (r Report) Verdicts() []Verdict { return Judge(r.Results, Targets, r.Full && !r.Smoke) }

// mark is the worst verdict of one result: "MISS" when any of its goals
// missed, "ok" when all held, "ref" for a baseline row.
func mark(vs []Verdict, x Result) string {
	m := ""
	for _, v := range vs {
		if v.Result.Section != x.Section || v.Result.Case != x.Case {
			continue
		}
		switch {
		case v.Mark() == "MISS":
			return "MISS"
		case m == "" || v.Mark() == "ok":
			m = v.Mark()
		}
	}
	return m
}

// Write writes report.json, report.md and the SVG charts into dir.
func (r Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	charts := r.charts()
	for name, svg := range charts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.markdown(charts)), 0o644)
}

func (r Report) section(s string) []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Section == s {
			out = append(out, x)
		}
	}
	return out
}

func (r Report) markdown(charts map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# quell benchmark report\n\n%s", r.Date.UTC().Format("2006-01-02 15:04 UTC"))
	if r.Smoke {
		b.WriteString(" — **smoke run** (one short case per section; not a measurement)")
	}
	b.WriteString("\n\nOn:\n")
	for _, o := range r.On {
		fmt.Fprintf(&b, "- %s\n", o)
	}
	b.WriteString("\nFigures are ratios of the kernel's own counters wherever the emulated guest would distort wall-clock time; each row says how it was measured. Latencies and reaction times are wall-clock in the guest: compare rows with each other, not with bare metal.\n")
	vs := r.Verdicts()
	b.WriteString("\n## Goals (benchmarks/targets.go)\n\n")
	fmt.Fprintf(&b, "%d checks, %d missed. Every row below is judged; MISS means the goal did not hold, the case failed, the row has no target, or a required figure was not measured.\n\n", len(vs), Misses(vs))
	b.WriteString("| verdict | section | case | measured | goal | why |\n|---|---|---|---|---|---|\n")
	for _, v := range vs {
		goal, got := "", ""
		if v.Target != nil {
			goal = v.Target.String()
			if v.Why != "not measured" && !strings.HasPrefix(v.Why, "not measured") {
				got = fmtNum(v.Value) + " " + v.Target.Unit
			}
		}
		why := v.Why
		if v.Target != nil && v.Pass && !v.Ref {
			why = v.Target.Why
		} else if v.Target != nil && !v.Pass && v.Target.Why != "" {
			why += " — " + v.Target.Why
		}
		cells := []string{"**" + v.Mark() + "**", v.Result.Section, v.Result.Case, got, goal, why}
		if v.Pass {
			cells[0] = v.Mark()
		}
		for i := range cells {
			cells[i] = strings.ReplaceAll(oneLine(cells[i]), "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n## Headlines\n\n" + r.headlines())
	b.WriteString("\n## 1. Fidelity (set vs achieved)\n\n![fidelity](fidelity.svg)\n\n")
	table(&b, vs, []string{"case", "set", "achieved", "unit", "error %", "extra", "how measured"}, r.section(Fidelity), func(x Result) []string {
		return []string{x.Case, fmtNum(x.Set), fmtNum(x.Achieved), x.Unit, errPct(x), extra(x), x.Method}
	})
	b.WriteString("\n## 2. Protection (victim p50/p99 and throughput)\n\n![protection](protection.svg)\n\n")
	table(&b, vs, []string{"scenario", "p50 ms", "p99 ms", "throughput", "samples", "how measured"}, r.section(Protection), func(x Result) []string {
		return []string{x.Case, fmtNum(x.Extra["p50_ms"]), fmtNum(x.Extra["p99_ms"]), fmtNum(x.Extra["throughput_ratio"]), fmtNum(x.Extra["samples"]), x.Method}
	})
	b.WriteString("\n## 3. Reaction time (antagonist onset → first action)\n\n![reaction](reaction.svg)\n\n")
	table(&b, vs, []string{"who", "p50 s", "p99 s", "trials", "each (s)", "how measured"}, r.section(Reaction), func(x Result) []string {
		return []string{x.Case, fmtNum(x.Extra["p50_s"]), fmtNum(x.Extra["p99_s"]), fmtNum(x.Extra["trials"]), trials(x), x.Method}
	})
	b.WriteString("\n## 4. Overhead and scale\n\n![overhead](overhead.svg)\n\n")
	table(&b, vs, []string{"figure", "cgroups", "value", "unit", "how measured"}, r.section(Overhead), func(x Result) []string {
		return []string{x.Control, fmtNum(x.Extra["cgroups"]), fmtNum(x.Achieved), x.Unit, x.Method}
	})
	if r.GoBench != "" {
		fmt.Fprintf(&b, "\n### Go benchmarks (hot paths, `go test -bench -benchmem`, %s)\n\n```\n%s\n```\n", r.GoOn, strings.TrimSpace(r.GoBench))
	}
	var failed []Result
	for _, x := range r.Results {
		if x.Err != "" {
			failed = append(failed, x)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n## Cases that did not produce a figure\n\n")
		for _, x := range failed {
			fmt.Fprintf(&b, "- **%s / %s**: %s\n", x.Section, x.Case, oneLine(x.Err))
		}
	}
	return b.String()
}

// headlines: worst fidelity error per control, victim p99 with and
// without quell, reaction p99s, overhead at each size.
func (r Report) headlines() string {
	var b strings.Builder
	worst := map[string]Result{}
	var order []string
	for _, x := range r.section(Fidelity) {
		if x.ErrorPct == nil {
			continue
		}
		w, ok := worst[x.Control]
		if !ok {
			order = append(order, x.Control)
		}
		if !ok || abs(*x.ErrorPct) > abs(*w.ErrorPct) {
			worst[x.Control] = x
		}
	}
	b.WriteString("| control | worst error % | in case |\n|---|---|---|\n")
	for _, c := range order {
		fmt.Fprintf(&b, "| %s | %+.2f | %s |\n", c, *worst[c].ErrorPct, worst[c].Case)
	}
	b.WriteString("\n| headline | value |\n|---|---|\n")
	for _, x := range r.section(Protection) {
		fmt.Fprintf(&b, "| victim p99, %s | %s ms |\n", x.Case, fmtNum(x.Extra["p99_ms"]))
	}
	for _, x := range r.section(Reaction) {
		if x.Err == "" {
			fmt.Fprintf(&b, "| reaction p99, %s | %s s |\n", x.Case, fmtNum(x.Extra["p99_s"]))
		}
	}
	for _, x := range r.section(Overhead) {
		if x.Err == "" && (x.Control == "quelld CPU" || x.Control == "quelld RSS") {
			fmt.Fprintf(&b, "| %s | %s %s |\n", x.Case, fmtNum(x.Achieved), x.Unit)
		}
	}
	return b.String()
}

func table(b *strings.Builder, vs []Verdict, head []string, rs []Result, row func(Result) []string) {
	head = append([]string{"goal"}, head...)
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---|", len(head)) + "\n")
	for _, x := range rs {
		if x.Err != "" {
			fmt.Fprintf(b, "| **MISS** | %s | failed: %s |%s\n", x.Case, oneLine(x.Err), strings.Repeat(" |", len(head)-3))
			continue
		}
		m := mark(vs, x)
		if m == "MISS" {
			m = "**MISS**"
		}
		cells := append([]string{m}, row(x)...)
		for i := range cells {
			cells[i] = strings.ReplaceAll(cells[i], "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

func errPct(x Result) string {
	if x.ErrorPct == nil {
		return ""
	}
	return fmt.Sprintf("%+.2f", *x.ErrorPct)
}

func extra(x Result) string {
	var ks []string
	for k := range x.Extra {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, k+"="+fmtNum(x.Extra[k]))
	}
	s := strings.Join(parts, " ")
	if x.Note != "" {
		s += " " + x.Note
	}
	return s
}

func trials(x Result) string {
	var parts []string
	for i := 1; ; i++ {
		v, ok := x.Extra[fmt.Sprintf("trial%d_s", i)]
		if !ok {
			break
		}
		parts = append(parts, fmtNum(v))
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
