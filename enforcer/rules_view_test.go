package enforcer

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A rule whose condition holds but that has nobody to act on says so in
// the view (quell status shows it), and a rule that acted names its step
// and culprit.
func TestViewSaysWhyAHoldingRuleDoesNotAct(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", strings.NewReplacer("RES", "cpu", "RANK", "cpu").Replace(rankPolicy))
	cg := h.container(idA, "web-1", 0) // no tenant: never a target
	clock := newClock()
	e := h.enforcerFS(clock)
	h.cpuPressure(90)
	usage := 0
	for range 4 {
		usage += 1_900_000
		h.cpuUsage(cg, usage)
		e.Tick(context.Background())
		clock.Add(time.Second)
	}
	rs := e.View().Rules
	if len(rs) != 1 {
		t.Fatalf("view rules = %+v, want the one rule", rs)
	}
	r := rs[0]
	if r.Rule != "storm" || r.Signal != "host.cpu.some.avg10" || !r.HasValue || r.Value != 90 || r.HeldFor < time.Second ||
		r.Step != 0 || r.Waiting != "no eligible unit to act on" {
		t.Fatalf("rule view = %+v, want storm holding at 90 for >= 1s, idle, waiting for an eligible unit", r)
	}

	// A batch container appears: the rule acts on it, and the view says so.
	cgB := h.container(idB, "batch-miner", 0)
	e.RequestRescan()
	for i := 0; i < 10 && e.View().Rules[0].Step == 0; i++ {
		usage += 1_900_000
		h.cpuUsage(cgB, usage)
		e.Tick(context.Background())
		clock.Add(time.Second)
	}
	r = e.View().Rules[0]
	if r.Step != 1 || r.Culprit != idB || r.CulpritName != "batch-miner" || r.Waiting != "" {
		t.Fatalf("rule view after acting = %+v, want step 1 on batch-miner (%s)", r, idB)
	}
}
