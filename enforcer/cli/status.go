package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

func statusCmd() *command {
	return &command{
		name:    "status",
		summary: "Is quelld running, which policy is in force, is the loop healthy",
		detail: "Exits 1 when the last policy load failed (the last good policy stays in force)\n" +
			"or the last loop pass had errors, so scripts and monitoring can check it.",
		examples: []string{"quell status", "quell status --json | jq .policy"},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			svc, direct, err := e.reader()
			if err != nil {
				return 0, err
			}
			v, err := svc.View(e.ctx)
			if err != nil {
				return 0, err
			}
			if e.g.json {
				err = e.printJSON(v)
			} else {
				err = writeStatus(e.stdout, v, direct)
			}
			if err != nil {
				return 0, err
			}
			if !v.Policy.Valid || v.Loop.Errors > 0 {
				return ExitFailure, nil
			}
			return ExitOK, nil
		},
	}
}

// writeStatus renders the status report.
func writeStatus(w io.Writer, v *view.View, direct bool) error {
	var b strings.Builder
	if direct {
		fmt.Fprintf(&b, "quelld:     not running %s\n", directNote)
	} else {
		mode := "enforcing"
		if v.DryRun {
			mode = "dry run: deciding and recording, writing nothing"
		}
		fmt.Fprintf(&b, "quelld:     running, %s\n", mode)
	}
	p := v.Policy
	switch {
	case p.Valid:
		fmt.Fprintf(&b, "policy:     ok: %s\n", orDash(p.Summary))
	default:
		fmt.Fprintf(&b, "policy:     INVALID: the last load failed; the last good policy stays in force: %s\n", orDash(p.Summary))
	}
	if !p.LoadedAt.IsZero() {
		fmt.Fprintf(&b, "            loaded %s (%s ago)", p.LoadedAt.Local().Format(time.DateTime), ago(v.Time, p.LoadedAt))
		if len(p.Files) > 0 {
			fmt.Fprintf(&b, " from %s", strings.Join(p.Files, ", "))
		}
		b.WriteString("\n")
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "            %s\n", e)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "            warning: %s\n", w)
	}
	if !p.Valid {
		b.WriteString("            fix the files (quell policy check), then: sudo quell reload\n")
	}
	l := v.Loop
	if !direct {
		if l.LastTick.IsZero() {
			b.WriteString("loop:       not run yet\n")
		} else {
			fmt.Fprintf(&b, "loop:       last pass %s ago, took %s, every %s, %d errors\n",
				ago(v.Time, l.LastTick), l.LastDuration.Round(time.Millisecond), l.Interval, l.Errors)
		}
	}
	fmt.Fprintf(&b, "watching:   %d cgroups, %d containers, %d tenants, %d penalties active\n",
		l.Watched, len(v.Containers), len(v.Tenants), len(v.Penalties))
	h := v.Host
	fmt.Fprintf(&b, "host:       %d CPUs, %s available of %s, pressure %s\n",
		h.CPUs, fmtBytes(h.MemAvailable), fmtBytes(h.MemTotal), hostPSI(h))
	for _, pen := range v.Penalties {
		fmt.Fprintf(&b, "penalty:    %s %s (rule %s) until %s: %s\n", pen.Action, shortID(pen.ID), pen.Rule,
			pen.Deadline.Local().Format(time.TimeOnly), pen.Reason)
	}
	for _, q := range v.Quarantine {
		fmt.Fprintf(&b, "quarantine: %s (rule %s, evicted %d×) until %s: evicted again if it comes back\n", q.Identity, q.Rule, q.Kills,
			q.Until.Local().Format(time.TimeOnly))
	}
	writeRules(&b, v.Rules)
	_, err := io.WriteString(w, b.String())
	return err
}

// hostPSI formats the host's some avg10 pressures: "cpu 42.5 mem 0.0 io 1.2".
func hostPSI(h view.HostView) string {
	get := func(r string) string {
		if v, ok := h.Signals["host."+r+".some.avg10"]; ok {
			return fmt.Sprintf("%.1f", v)
		}
		return "?"
	}
	return fmt.Sprintf("cpu %s mem %s io %s", get("cpu"), get("memory"), get("io"))
}

func ago(now, t time.Time) string {
	if now.IsZero() {
		now = time.Now()
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeRules says how many rules there are and, for each one whose
// condition holds or whose ladder is acting, what it is doing or why it
// waits (a rule that holds and never acts is otherwise a mystery).
func writeRules(b *strings.Builder, rs []view.RuleView) {
	if len(rs) == 0 {
		return
	}
	busy := 0
	for _, r := range rs {
		if r.HeldFor > 0 || r.Step > 0 || r.Waiting != "" {
			busy++
		}
	}
	fmt.Fprintf(b, "rules:      %d watched, %d holding or acting\n", len(rs), busy)
	for _, r := range rs {
		if r.HeldFor <= 0 && r.Step == 0 && r.Waiting == "" {
			continue
		}
		name := r.Rule
		if r.Tenant != "" {
			name += " (tenant " + r.Tenant + ")"
		}
		val := "missing"
		if r.HasValue {
			val = strconv.FormatFloat(r.Value, 'f', -1, 64)
		}
		fmt.Fprintf(b, "rule:       %s: %s = %s, held %s", name, r.Signal, val, r.HeldFor.Round(time.Millisecond))
		if r.Step > 0 {
			who := r.CulpritName
			if who == "" {
				who = shortID(r.Culprit)
			}
			fmt.Fprintf(b, "; step %d on %s", r.Step, who)
		}
		if r.Waiting != "" {
			fmt.Fprintf(b, "; waiting: %s", r.Waiting)
		}
		b.WriteString("\n")
	}
}
