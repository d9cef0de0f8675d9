package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/quell-dev/quell/enforcer/view"
)

func planCmd() *command {
	return &command{
		name:    "plan",
		summary: "What quell would write to each cgroup now (old → new), writing nothing",
		detail: "Computes the limits the policy asks for against what the cgroups hold now.\n" +
			"Nothing is written, by quelld or by this command.",
		examples: []string{"quell plan", "quell plan --json | jq '.[] | select(.tenant==\"acme\")'"},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			svc, direct, err := e.reader()
			if err != nil {
				return 0, err
			}
			p, err := svc.Plan(e.ctx)
			if err != nil {
				return 0, err
			}
			if e.g.json {
				if p == nil {
					p = []view.PlanEntry{}
				}
				return ExitOK, e.printJSON(p)
			}
			return ExitOK, writePlan(e.stdout, p, direct)
		},
	}
}

func writePlan(w io.Writer, p []view.PlanEntry, direct bool) error {
	var b strings.Builder
	if direct {
		fmt.Fprintln(&b, directNote)
	}
	n := 0
	for _, pe := range p {
		if len(pe.Changes) == 0 {
			continue
		}
		who := "tenant " + pe.Tenant
		if pe.Container != "" {
			who += ", container " + shortID(pe.Container)
		}
		fmt.Fprintf(&b, "%s (%s)\n", pe.Cgroup, who)
		t := newTable("", "", "", "", "")
		for _, c := range pe.Changes {
			t.add("   "+c.File, orDash(c.Old), "→", orDash(c.New), c.Why)
			n++
		}
		// A table without its header row.
		var tb strings.Builder
		_ = t.write(&tb)
		lines := strings.SplitN(tb.String(), "\n", 2)
		b.WriteString(lines[1])
	}
	if n == 0 {
		b.WriteString("nothing to change: every cgroup already holds what the policy asks for\n")
	} else {
		fmt.Fprintf(&b, "%d changes in %d cgroups; nothing was written\n", n, countWithChanges(p))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func countWithChanges(p []view.PlanEntry) int {
	n := 0
	for _, pe := range p {
		if len(pe.Changes) > 0 {
			n++
		}
	}
	return n
}
