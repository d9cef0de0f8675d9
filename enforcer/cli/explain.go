package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

func explainCmd() *command {
	return &command{
		name:    "explain",
		args:    "ID|NAME|CGROUP",
		summary: "Why a container has its tenant and limits, and what quell did to it",
		detail: "Give a container ID (or a unique prefix, as docker ps shows it), its name, a cgroup\n" +
			"path below the cgroup root or a cgroup's base name (docker-<id>.scope). The answer\n" +
			"says which tenant matched and why, where each of the container's facts came from\n" +
			"(a runtime state file or an engine's API), every file quell changed (original →\n" +
			"current, and why), which rules and detectors can act on it, and what quell did to it.",
		examples: []string{"quell explain 3f2a1b4c5d6e", "quell explain web-1", "quell explain docker-3f2a1b4c5d6e….scope", "quell explain --json 3f2a | jq .limits"},
		run: func(e *env, args []string) (int, error) {
			if len(args) != 1 {
				return 0, usagef("want one container ID, name or cgroup, got %d arguments", len(args))
			}
			svc, direct, err := e.reader()
			if err != nil {
				return 0, err
			}
			x, err := svc.Explain(e.ctx, strings.TrimPrefix(args[0], "/"))
			if errors.Is(err, view.ErrNotFound) {
				return 0, fmt.Errorf("%v; 'quell containers' lists what quell watches", err)
			}
			if err != nil {
				return 0, err
			}
			if e.g.json {
				return ExitOK, e.printJSON(x)
			}
			return ExitOK, writeExplanation(e.stdout, x, direct)
		},
	}
}

// writeExplanation renders an Explanation as sentences and values.
func writeExplanation(w io.Writer, x *view.Explanation, direct bool) error {
	var b strings.Builder
	c := x.Container
	if direct {
		fmt.Fprintln(&b, directNote)
	}
	name := c.Name
	if name == "" {
		name = "unnamed"
	}
	fmt.Fprintf(&b, "Container %s (%s), runtime %s\n", shortID(c.ID), name, orDash(c.Runtime))
	fmt.Fprintf(&b, "  cgroup:  %s\n", c.Cgroup)
	if c.PID > 0 {
		fmt.Fprintf(&b, "  init:    pid %d\n", c.PID)
	}
	if c.Bundle != "" {
		fmt.Fprintf(&b, "  bundle:  %s\n", c.Bundle)
	}

	b.WriteString("\nTenant\n")
	switch {
	case x.Tenant != nil:
		fmt.Fprintf(&b, "  %s (class %s, mode %s).\n", x.Tenant.Name, orDash(x.Tenant.Class), orDash(x.Tenant.Mode))
	case c.Tenant != "":
		fmt.Fprintf(&b, "  %s (class %s).\n", c.Tenant, orDash(c.Class))
	default:
		b.WriteString("  None: quell leaves this container alone.\n")
	}
	if m := firstNonEmpty(x.Match, c.MatchReason); m != "" {
		fmt.Fprintf(&b, "  Why: %s\n", m)
	}

	b.WriteString("\nMetadata\n")
	switch {
	case x.Meta != "":
		fmt.Fprintf(&b, "  %s\n", x.Meta)
	case c.MetaErr != "":
		fmt.Fprintf(&b, "  Could not be read (%s); classified by cgroup path alone.\n", c.MetaErr)
	default:
		b.WriteString("  -\n")
	}
	if len(c.Labels) > 0 {
		fmt.Fprintf(&b, "  labels: %s\n", labelList(c.Labels))
	}
	for _, k := range []string{"name", "labels", "pid", "data-root"} {
		if v := c.Sources[k]; v != "" {
			fmt.Fprintf(&b, "  %-9s from %s\n", k+":", v)
		}
	}

	b.WriteString("\nUsage\n")
	u := c.Usage
	fmt.Fprintf(&b, "  cpu %s CPUs (throttled %s), memory %s, swap %s, pids %d, io %s read %s write, psi cpu/mem/io %s",
		fmtNum(u.CPUs), fmtPct(u.ThrottledPct), fmtBytes(u.MemoryBytes), fmtBytes(u.SwapBytes), u.Pids,
		fmtByteRate(u.IOReadBps), fmtByteRate(u.IOWriteBps), fmtPSI(u.CPUPressure, u.MemoryPressure, u.IOPressure))
	if u.OOMKills > 0 {
		fmt.Fprintf(&b, ", %d OOM kills", u.OOMKills)
	}
	b.WriteString("\n")

	b.WriteString("\nLimits\n")
	if len(x.Limits) == 0 {
		b.WriteString("  quell changed nothing on this container.\n")
	}
	for _, l := range x.Limits {
		if l.Old == l.New {
			fmt.Fprintf(&b, "  %s = %s (unchanged)\n", l.File, l.New)
		} else {
			fmt.Fprintf(&b, "  %s: %s → %s\n", l.File, orDash(l.Old), l.New)
		}
		if l.Why != "" {
			fmt.Fprintf(&b, "    because %s\n", l.Why)
		}
		if l.DecidedBy != "" {
			fmt.Fprintf(&b, "    decided by: %s\n", l.DecidedBy)
		}
	}
	for _, er := range c.Errors {
		fmt.Fprintf(&b, "  error: %s\n", er)
	}

	b.WriteString("\nRules\n")
	if len(x.Rules) == 0 {
		b.WriteString("  No rule or detector can act on this container.\n")
	}
	for _, r := range x.Rules {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	if p := c.Penalty; p != nil {
		fmt.Fprintf(&b, "  In force: %s since %s: %s (lift early: sudo quell release %s)\n",
			penaltyText(*p), p.Since.Local().Format(time.TimeOnly), p.Reason, shortID(c.ID))
	}

	b.WriteString("\nWhat quell did\n")
	if len(x.Events) == 0 {
		b.WriteString("  Nothing yet.\n")
	}
	for _, ev := range x.Events {
		fmt.Fprintf(&b, "  %s\n", eventLine(ev))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func labelList(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}
