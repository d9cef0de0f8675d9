package benchmarks

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The quell rule's row counts the reaction (onset → action) in its p99 and
// says apart what the victim saw after the action.
func TestProtectionResultsSplitTheReaction(t *testing.T) {
	t0 := time.UnixMicro(10_000_000)
	var out strings.Builder
	line := func(at time.Duration, latUs int) { fmt.Fprintf(&out, "%d %d\n", t0.Add(at).UnixMicro(), latUs) }
	for i := 0; i < 100; i++ { // alone: 1 ms
		line(time.Duration(i)*time.Millisecond, 1000)
	}
	for i := 0; i < 10; i++ { // reaction: 500 ms
		line(time.Second+time.Duration(i)*time.Millisecond, 500_000)
	}
	for i := 0; i < 190; i++ { // after the action: 2 ms
		line(2*time.Second+time.Duration(i)*time.Millisecond, 2000)
	}
	ws := []window{
		{name: "alone", from: t0.Add(-time.Millisecond), to: t0.Add(500 * time.Millisecond)},
		{name: "quell rule", from: t0.Add(time.Second - time.Millisecond), to: t0.Add(1500 * time.Millisecond), reaction: true},
		{name: "quell rule", from: t0.Add(2*time.Second - time.Millisecond), to: t0.Add(3 * time.Second)},
	}
	rs := protectionResults("cpu", scenario{}, out.String(), ws)
	if len(rs) != 2 {
		t.Fatalf("results = %+v, want alone and quell rule", rs)
	}
	q := rs[1]
	if q.Case != "cpu: quell rule" || q.Extra["p99_ms"] != 500 || q.Extra["p99_vs_alone"] != 500 {
		t.Errorf("quell rule row = %+v, want p99 500 ms (the reaction counts), 500x alone", q)
	}
	if q.Extra["p99_after_action_ms"] != 2 || q.Extra["after_action_vs_alone"] != 2 {
		t.Errorf("quell rule row after the action = %v / %v, want 2 ms, 2x", q.Extra["p99_after_action_ms"], q.Extra["after_action_vs_alone"])
	}
	if _, ok := rs[0].Extra["p99_after_action_ms"]; ok {
		t.Errorf("the alone row has no reaction to split: %+v", rs[0].Extra)
	}
}
