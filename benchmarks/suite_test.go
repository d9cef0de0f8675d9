package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSuiteProgressFailuresAndReport(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	cases := []Case{
		{Section: Fidelity, Name: "ok", Est: time.Minute, Smoke: true, Run: func(context.Context, Env, bool) ([]Result, error) {
			return []Result{Result{Control: "cpu.max", Case: "cpu.max 0.5", Set: 0.5, Achieved: 0.51, Unit: "CPU"}.WithError()}, nil
		}},
		{Section: Protection, Name: "boom", Est: time.Minute, Run: func(context.Context, Env, bool) ([]Result, error) { panic("boom") }},
		{Section: Reaction, Name: "err", Est: time.Minute, Run: func(context.Context, Env, bool) ([]Result, error) { return nil, errors.New("nope") }},
		{Section: Overhead, Name: "cannot", Est: time.Minute, Needs: func(Env) string { return "no disk" }},
	}
	var p strings.Builder
	var emitted int
	rs, err := Suite{Env: Env{Now: clock, Label: "test"}, Progress: &p, Emit: func(Result) { emitted++ }}.Run(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 || emitted != 4 {
		t.Fatalf("results %d emitted %d, want 4: %+v", len(rs), emitted, rs)
	}
	if e := *rs[0].ErrorPct; e < 1.99 || e > 2.01 {
		t.Errorf("error %% = %v, want 2", e)
	}
	for i, want := range []string{"", "panic: boom", "nope", "cannot run here: no disk"} {
		if rs[i].Err != want || rs[i].On != "test" {
			t.Errorf("result %d: err %q on %q, want %q", i, rs[i].Err, rs[i].On, want)
		}
	}
	for _, want := range []string{"[1/4]", "ETA 4m00s", "[4/4]", "ETA 1m00s", "FAILED"} {
		if !strings.Contains(p.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, p.String())
		}
	}
	dir := t.TempDir()
	if err := (Report{Date: now, On: []string{"test"}, Results: rs}).Write(dir); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{"| cpu.max | +2.00 | cpu.max 0.5 |", "![fidelity](fidelity.svg)", "panic: boom"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "fidelity.svg"))
	if !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "+2.00%") {
		t.Errorf("fidelity.svg: %s", svg)
	}
}

func TestSmokeHasOneCasePerSection(t *testing.T) {
	t.Parallel()
	n := map[string]int{}
	for _, c := range Cases() {
		if c.Smoke {
			n[c.Section]++
		}
	}
	for _, s := range []string{Fidelity, Protection, Reaction, Overhead} {
		if n[s] != 1 {
			t.Errorf("section %s has %d smoke cases, want 1", s, n[s])
		}
	}
}

func TestParseResults(t *testing.T) {
	t.Parallel()
	var pass strings.Builder
	rs := ParseResults(strings.NewReader("progress\n"+ResultPrefix+`{"section":"fidelity","case":"x","achieved":1}`+"\n"), &pass)
	if len(rs) != 1 || rs[0].Case != "x" || pass.String() != "progress\n" {
		t.Errorf("got %+v, passed %q", rs, pass.String())
	}
}

func TestOnlyFiltersBySectionOrName(t *testing.T) {
	cases := []Case{{Section: Fidelity, Name: "cpu.max 0.25 CPU"}, {Section: Protection, Name: "cpu antagonist"},
		{Section: Reaction, Name: "systemd-oomd defaults"}}
	if got := Only(cases, ""); len(got) != 3 {
		t.Fatalf("no filter kept %d of 3", len(got))
	}
	got := Only(cases, "Protection, OOMD")
	if len(got) != 2 || got[0].Name != "cpu antagonist" || got[1].Name != "systemd-oomd defaults" {
		t.Fatalf("Only(protection,oomd) = %+v", got)
	}
	if got := Only(cases, "nothing"); len(got) != 0 {
		t.Fatalf("Only(nothing) = %+v", got)
	}
}

func TestLogBarChartKeepsSmallBarsVisible(t *testing.T) {
	svg := logBarChart("t", "ms", []bar{{"small", 5, "#000", "5 ms"}, {"large", 4455, "#000", "4455 ms"}})
	var widths []float64
	for _, part := range strings.Split(svg, "<rect x=")[1:] { // [0]: header and background
		var x, w float64
		var y int
		if _, err := fmt.Sscanf(part, `"%g" y="%d" width="%g"`, &x, &y, &w); err != nil {
			t.Fatalf("parse %q: %v", part, err)
		}
		widths = append(widths, w)
	}
	if len(widths) != 2 {
		t.Fatalf("want 2 bars, got %v in %s", widths, svg)
	}
	// Linear: 5/4455 of the width (under 1%). Log10(1+v): about 21%.
	if r := widths[0] / widths[1]; r < 0.15 || r > 0.3 {
		t.Errorf("small/large bar = %.3f, want ~0.21 on a log scale (widths %v)", r, widths)
	}
	if !strings.Contains(svg, "log scale") {
		t.Errorf("axis does not say it is a log scale: %s", svg)
	}
}
