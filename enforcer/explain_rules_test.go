package enforcer

import (
	"context"
	"strings"
	"testing"
)

// A rule on a tenant signal looks for its culprit in the other tenants
// (the signal names the tenant that suffers): explain must say so, or a
// user who writes tenant.memory.full.avg10 to kill a thrashing tenant's own
// container waits for an eviction that never comes (the bench's oomd case
// did in the 2026-12-05 full run and in its reproduction).
func TestExplainSaysATenantSignalNeverTargetsItsOwnTenant(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy+`
[[rule]]
name = "mine"
when = { signal = "tenant.memory.full.avg10", above = 20.0, for = "2s" }
ladder = [{ action = "evict" }]

[[rule]]
name = "host"
when = { signal = "host.memory.full.avg10", above = 20.0, for = "2s" }
ladder = [{ action = "evict" }]
`)
	h.container(idA, "acme-web", 0)
	e := h.enforcer(newClock())
	ctx := context.Background()
	e.Tick(ctx)
	x, err := e.Explain(ctx, "acme-web")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(x.Rules, "\n")
	for _, want := range []string{
		"rule mine: when another tenant's tenant.memory.full.avg10 > 20, ranked by",
		"(its own tenant's pressure never makes it the target)",
		"rule host: when host.memory.full.avg10 > 20, ranked by",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("explain rules = %q, want %q in it", got, want)
		}
	}
	if strings.Count(got, "its own tenant's pressure") != 1 {
		t.Errorf("explain rules = %q: only the tenant-signal rule says it", got)
	}
}
