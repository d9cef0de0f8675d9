package enforcer

import (
	"context"
	"testing"
)

// TestOwnContainerIsNeverLimited: quelld in a container (the DaemonSet,
// or podman + crun, which runs the process in a "container" child of the
// scope) is matched by a catch-all tenant; its own container must get
// nothing, the other container its limits.
func TestOwnContainerIsNeverLimited(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	own := h.container(idA, "acme-quelld", 0)
	other := h.container(idB, "acme-web", 0)
	for _, self := range []string{own, own + "/container"} {
		cfg := h.config()
		cfg.SelfCgroup = self
		e, err := New(cfg, WithClock(newClock()))
		must(t, err)
		e.Tick(context.Background())
		for f, want := range map[string]string{"cpu.max": "max 100000", "memory.max": "max", "pids.max": "max"} {
			if got := h.read("cgroup/" + own + "/" + f); got != want {
				t.Errorf("self %s: its own container's %s = %q, want %q (untouched)", self, f, got, want)
			}
		}
		if got := h.read("cgroup/" + other + "/cpu.max"); got != "50000 100000" {
			t.Errorf("self %s: the other container's cpu.max = %q, want 50000 100000", self, got)
		}
		for _, c := range e.View().Containers {
			if c.ID == idA {
				t.Errorf("self %s: quelld's own container is listed as a container (tenant %q)", self, c.Tenant)
			}
		}
	}
}
