package enforcer

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSlowPassIsReportedWithItsSteps(t *testing.T) {
	t.Parallel()
	clock := newClock()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	r := &slowReporter{log: log}
	run := func(steps map[string]time.Duration, order []string, prev time.Time) string {
		buf.Reset()
		pt := newPassTimer(clock.Now, clock.Now())
		for _, name := range order {
			clock.Add(steps[name])
			pt.mark(name)
		}
		r.report(pt, time.Second, prev)
		return buf.String()
	}
	order := []string{"discover", "observe", "reconcile", "detect+act"}
	if out := run(map[string]time.Duration{"observe": 500 * time.Millisecond, "reconcile": time.Second}, order, clock.Now().Add(-time.Second)); out != "" {
		t.Fatalf("a 1.5 s pass at interval 1s is not slow, got %q", out)
	}
	out := run(map[string]time.Duration{"discover": 200 * time.Microsecond, "observe": 6100 * time.Millisecond,
		"reconcile": 1200 * time.Millisecond, "detect+act": 700 * time.Millisecond}, order, time.Time{})
	if !strings.Contains(out, "slow pass") || !strings.Contains(out, "took=8s") ||
		!strings.Contains(out, `steps="observe 6.1s, reconcile 1.2s, detect+act 700ms"`) {
		t.Fatalf("slow pass log = %q, want the total and the steps longest first, under 1 ms left out", out)
	}
	prev := clock.Now().Add(-5 * time.Second)
	if out := run(nil, order, prev); !strings.Contains(out, "late pass") || !strings.Contains(out, "gap=5s") {
		t.Fatalf("a pass 5 s after the previous at interval 1s: log = %q, want a late-pass warning", out)
	}
	// Within the minute: counted, not logged; after it, logged with the count.
	slow := map[string]time.Duration{"observe": 3 * time.Second}
	for range 3 {
		if out := run(slow, order, time.Time{}); out != "" {
			t.Fatalf("a second slow pass within a minute was logged: %q", out)
		}
	}
	clock.Add(time.Minute)
	if out := run(slow, order, time.Time{}); !strings.Contains(out, "slow pass") || !strings.Contains(out, "not_logged_since_last=3") {
		t.Fatalf("slow pass a minute later: log = %q, want it with the 3 left out", out)
	}
}
