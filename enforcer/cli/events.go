package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
)

func eventsCmd() *command {
	var (
		follow bool
		since  uint64
		limit  = defaultLimit
	)
	return &command{
		name:    "events",
		summary: "What quell did and decided, oldest first",
		detail: "Without --since, shows the last --limit events. With --follow, keeps printing\n" +
			"new events as they happen until Ctrl-C. --json prints one JSON object per line.",
		examples: []string{"quell events", "quell events --follow", "quell events --since 120 --json | jq 'select(.kind==\"evict\")'"},
		setFlags: func(f *flags) {
			f.boolVar(&follow, "f", "follow", "keep printing new events")
			f.uintVar(&since, "", "since", "SEQ", "only events after sequence number SEQ")
			f.intVar(&limit, "n", "limit", "N", "show at most the last N events (without --since)")
		},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			if limit <= 0 {
				return 0, usagef("--limit %d: want a positive number", limit)
			}
			// Events live in quelld (and its state dir): no cgroupfs fallback.
			svc, err := e.writer("quell events")
			if err != nil {
				return 0, err
			}
			return runEvents(e, svc, since, limit, follow)
		},
	}
}

const eventPage = 500

func runEvents(e *env, svc api.Service, since uint64, limit int, follow bool) (int, error) {
	var evs []view.Event
	if since > 0 {
		// Everything after since, page by page.
		for {
			page, err := svc.Events(e.ctx, since, eventPage, 0)
			if err != nil {
				return 0, err
			}
			evs = append(evs, page...)
			if len(page) < eventPage {
				break
			}
			since = page[len(page)-1].Seq
		}
	} else {
		// The last limit events: page through, keeping the tail.
		for {
			page, err := svc.Events(e.ctx, since, eventPage, 0)
			if err != nil {
				return 0, err
			}
			evs = append(evs, page...)
			if len(evs) > limit {
				evs = evs[len(evs)-limit:]
			}
			if len(page) > 0 {
				since = page[len(page)-1].Seq
			}
			if len(page) < eventPage {
				break
			}
		}
	}
	if len(evs) > 0 {
		since = max(since, evs[len(evs)-1].Seq)
	}
	if err := printEvents(e, evs); err != nil {
		return 0, err
	}
	if !follow {
		return ExitOK, nil
	}
	for {
		page, err := svc.Events(e.ctx, since, eventPage, 30*time.Second)
		if e.ctx.Err() != nil {
			return ExitOK, nil
		}
		if err != nil {
			return 0, err
		}
		if len(page) > 0 {
			since = page[len(page)-1].Seq
		}
		if err := printEvents(e, page); err != nil {
			return 0, err
		}
	}
}

func printEvents(e *env, evs []view.Event) error {
	for _, ev := range evs {
		var line string
		if e.g.json {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			line = string(b)
		} else {
			line = fmt.Sprintf("%6d  %s", ev.Seq, eventLine(ev))
		}
		if _, err := fmt.Fprintln(e.stdout, line); err != nil {
			return err
		}
	}
	return nil
}

// eventLine is one event as a sentence with its values:
// "12:00:01 throttle acme 3f2a1b4c5d6e (rule cpu-contention): cpu.max 250000 100000 → 125000 100000: host cpu pressure".
func eventLine(ev view.Event) string {
	var b strings.Builder
	b.WriteString(ev.Time.Local().Format(time.TimeOnly) + " " + ev.Kind)
	if ev.DryRun {
		b.WriteString(" (dry run)")
	}
	if ev.Tenant != "" {
		b.WriteString(" " + ev.Tenant)
	}
	if ev.Target != "" {
		b.WriteString(" " + shortID(ev.Target))
	} else if ev.Cgroup != "" {
		b.WriteString(" " + ev.Cgroup)
	}
	if ev.Rule != "" {
		b.WriteString(" (rule " + ev.Rule + ")")
	}
	if ev.Before != "" || ev.After != "" {
		fmt.Fprintf(&b, ": %s → %s", orDash(ev.Before), orDash(ev.After))
	}
	if ev.Reason != "" {
		b.WriteString(": " + ev.Reason)
	}
	if len(ev.Signals) > 0 {
		keys := make([]string, 0, len(ev.Signals))
		for k := range ev.Signals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%g", k, ev.Signals[k])
		}
		b.WriteString(" [" + strings.Join(parts, " ") + "]")
	}
	return b.String()
}

func sortStrings(s []string) { sort.Strings(s) }
