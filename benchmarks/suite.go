package benchmarks

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Case is one benchmark. Est is its expected duration, for the ETA. Smoke
// marks the one case per section that the CI smoke runs; Run there gets
// smoke=true and should shorten its windows.
type Case struct {
	Section string
	Name    string
	Est     time.Duration
	Smoke   bool
	Needs   func(Env) string // why it cannot run here; "" = runnable
	Run     func(ctx context.Context, env Env, smoke bool) ([]Result, error)
}

// Suite runs cases in order, printing progress to Progress and handing
// every Result to Emit (if set) as soon as it is measured.
type Suite struct {
	Env      Env
	Progress io.Writer
	Emit     func(Result)
	Smoke    bool
}

// Run runs the cases (only the Smoke ones when s.Smoke) and returns every
// Result. A failing case yields a Result with Err set and the suite goes
// on; Run returns an error only when ctx ends.
func (s Suite) Run(ctx context.Context, cases []Case) ([]Result, error) {
	var sel []Case
	for _, c := range cases {
		if !s.Smoke || c.Smoke {
			sel = append(sel, c)
		}
	}
	var left time.Duration
	for _, c := range sel {
		left += s.est(c)
	}
	var all []Result
	start := s.Env.now()
	for i, c := range sel {
		if err := ctx.Err(); err != nil {
			return all, err
		}
		fmt.Fprintf(s.Progress, "[%d/%d] %-10s %-34s ... (ETA %s)\n", i+1, len(sel), c.Section, c.Name, fmtDur(left))
		t0 := s.Env.now()
		var rs []Result
		var err error
		if why := needs(c, s.Env); why != "" {
			err = fmt.Errorf("cannot run here: %s", why)
		} else {
			rs, err = runCase(ctx, c, s.Env, s.Smoke)
		}
		took := s.Env.now().Sub(t0)
		if err != nil {
			rs = append(rs, Result{Section: c.Section, Case: c.Name, Err: err.Error(), On: s.Env.Label})
		}
		for j := range rs {
			rs[j].Seconds = round(took.Seconds(), 1)
			rs[j].Smoke = s.Smoke
			if rs[j].On == "" {
				rs[j].On = s.Env.Label
			}
			if rs[j].Section == "" {
				rs[j].Section = c.Section
			}
			if s.Emit != nil {
				s.Emit(rs[j])
			}
		}
		all = append(all, rs...)
		left -= s.est(c)
		if left < 0 {
			left = 0
		}
		fmt.Fprintf(s.Progress, "      %s in %s: %s\n", status(err), fmtDur(took), summary(rs))
	}
	fmt.Fprintf(s.Progress, "suite: %d cases, %d results in %s\n", len(sel), len(all), fmtDur(s.Env.now().Sub(start)))
	return all, nil
}

func (s Suite) est(c Case) time.Duration {
	if s.Smoke {
		return c.Est / 3
	}
	return c.Est
}

func needs(c Case, env Env) string {
	if c.Needs == nil {
		return ""
	}
	return c.Needs(env)
}

// runCase runs one case, turning a panic into an error so one broken case
// never stops the suite.
func runCase(ctx context.Context, c Case, env Env, smoke bool) (rs []Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.Run(ctx, env, smoke)
}

func status(err error) string {
	if err != nil {
		return "FAILED"
	}
	return "ok"
}

func summary(rs []Result) string {
	out := ""
	for i, r := range rs {
		if i == 3 {
			out += fmt.Sprintf(" (+%d more)", len(rs)-3)
			break
		}
		if i > 0 {
			out += "; "
		}
		if r.Err != "" {
			out += r.Case + ": " + r.Err
			continue
		}
		out += fmt.Sprintf("%s %s %s", r.Case, fmtNum(r.Achieved), r.Unit)
		if r.ErrorPct != nil {
			out += fmt.Sprintf(" (%+.1f%%)", *r.ErrorPct)
		}
	}
	return out
}

func fmtDur(d time.Duration) string {
	if d >= time.Minute {
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%.0fs", d.Seconds())
}

func fmtNum(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x >= 1000 || x <= -1000:
		return fmt.Sprintf("%.0f", x)
	case x >= 10 || x <= -10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

// Only keeps the cases whose "section name" contains one of the
// comma-separated substrings of filter (case-insensitive); "" keeps all.
func Only(cases []Case, filter string) []Case {
	if strings.TrimSpace(filter) == "" {
		return cases
	}
	var out []Case
	for _, c := range cases {
		key := strings.ToLower(c.Section + " " + c.Name)
		for _, f := range strings.Split(filter, ",") {
			if f = strings.ToLower(strings.TrimSpace(f)); f != "" && strings.Contains(key, f) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
