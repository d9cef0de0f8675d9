package enforcer

import (
	"context"
	"strings"
	"testing"
	"time"
)

const (
	looseCaps = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  cpus = 1
  memory = "256MiB"
`
	tightCaps = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  memory = "32MiB"
`
)

// docker run -m 64m --cpus 0.2 under a looser policy: the runtime's limits
// stay (they are ceilings), explain says the runtime decided them; a
// tighter policy wins; a later change by the runtime is adopted, not
// repaired; override = true lets the policy loosen; restoring gives back
// the adopted value.
func TestRuntimeLimitsAreCeilings(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", looseCaps)
	cg := h.container(idA, "acme-web", 0)
	h.file("cgroup/"+cg+"/memory.max", "67108864\n")
	h.file("cgroup/"+cg+"/cpu.max", "20000 100000\n")
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	tick := func() { clock.Add(time.Second); e.Tick(ctx) }
	reload := func(pol string) {
		h.file("policy.d/10-acme.toml", pol)
		must(t, e.Reload(ctx))
		tick()
	}
	file := func(f string) string { return h.read("cgroup/" + cg + "/" + f) }

	tick()
	tick()
	if got, got2 := file("memory.max"), file("cpu.max"); got != "67108864" || got2 != "20000 100000" {
		t.Fatalf("looser policy: memory.max %s, cpu.max %q; want the runtime's 67108864 and \"20000 100000\"", got, got2)
	}
	x, err := e.Explain(ctx, idA)
	must(t, err)
	by := map[string]string{}
	for _, l := range x.Limits {
		by[l.File] = l.DecidedBy
	}
	if by["memory.max"] != "runtime" || by["cpu.max"] != "runtime" {
		t.Fatalf("explain decided-by %v, want runtime for memory.max and cpu.max", by)
	}

	reload(tightCaps)
	if got := file("memory.max"); got != "33554432" {
		t.Fatalf("tighter policy: memory.max %s, want 33554432", got)
	}
	if got := file("cpu.max"); got != "20000 100000" {
		t.Fatalf("a policy without cpus changed cpu.max to %q", got)
	}

	// docker update -m 48m: the runtime's new value is the new original.
	h.file("cgroup/"+cg+"/memory.max", "50331648\n")
	for i := 0; i < verifyEvery+1; i++ {
		tick()
	}
	if got := e.store.Originals(cg)["memory.max"]; got != "50331648" {
		t.Fatalf("original after the runtime's change = %q, want the adopted 50331648", got)
	}
	if got := file("memory.max"); got != "33554432" {
		t.Fatalf("memory.max %s, want min(policy 32 MiB, runtime 48 MiB)", got)
	}
	found := false
	for _, ev := range e.Events(0, 0) {
		if strings.Contains(ev.Reason, "changed by the container runtime") && ev.After == "50331648" {
			found = true
		}
	}
	if !found {
		t.Error("no event says the runtime's change was adopted")
	}

	// Back to the looser policy: the adopted 48 MiB is the ceiling, not 64.
	reload(looseCaps)
	tick()
	if got := file("memory.max"); got != "50331648" {
		t.Fatalf("looser policy after the runtime's change: memory.max %s, want the runtime's 50331648", got)
	}
	// A runtime change on a file quell never wrote is not repaired either.
	h.file("cgroup/"+cg+"/cpu.max", "10000 100000\n")
	for i := 0; i < verifyEvery+1; i++ {
		tick()
	}
	if got := file("cpu.max"); got != "10000 100000" {
		t.Fatalf("cpu.max %q after the runtime lowered it, want it kept", got)
	}

	// override = true: the policy may loosen.
	reload(strings.Replace(looseCaps, `name = "acme"`, "name = \"acme\"\noverride = true", 1))
	if got, got2 := file("memory.max"), file("cpu.max"); got != "268435456" || got2 != "100000 100000" {
		t.Fatalf("override: memory.max %s, cpu.max %q; want the policy's", got, got2)
	}
	must(t, e.RestoreAll(ctx))
	if got, got2 := file("memory.max"), file("cpu.max"); got != "50331648" || got2 != "10000 100000" {
		t.Fatalf("after restore: memory.max %s, cpu.max %q; want the runtime's latest values", got, got2)
	}
}

// Quell's own writes are never taken for the runtime's: not after a
// restart (the values written are kept on disk), and not when systemd
// rounds a cpu.max quell set through it.
func TestOwnWritesAreNotAdopted(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", tightCaps)
	cg := h.container(idA, "acme-web", 0)
	h.file("cgroup/"+cg+"/memory.max", "67108864\n")
	clock := newClock()
	ctx := context.Background()
	e := h.enforcer(clock)
	e.Tick(ctx)
	if got := h.read("cgroup/" + cg + "/memory.max"); got != "33554432" {
		t.Fatalf("memory.max %s", got)
	}
	// A restart: the new enforcer reads 32 MiB, quell's own.
	e2 := h.enforcer(clock)
	for i := 0; i < 3; i++ {
		clock.Add(time.Second)
		e2.Tick(ctx)
	}
	if got := e2.store.Originals(cg)["memory.max"]; got != "67108864" {
		t.Fatalf("after a restart the original became %q: quell's own write taken for the runtime's", got)
	}
	// systemd's rounding of a cpu.max set through it is quell's too.
	e2.units = &recordingUnits{}
	e2.store.RecordOriginal(cg, "cpu.max", "max 100000")
	e2.store.RecordWritten(cg, "cpu.max", "12345 100000")
	if !e2.quellWrote(cg, "cpu.max", "cpu.max", "13000 100000") {
		t.Error("systemd's rounding of quell's cpu.max taken for the runtime's")
	}
	if e2.quellWrote(cg, "cpu.max", "cpu.max", "20000 100000") {
		t.Error("a different cpu.max taken for quell's")
	}
}

// The pass that adopts a runtime's change leaves the file to the runtime
// through systemd too: the unit properties it sets that pass do not carry
// the old plan's value for it.
func TestAdoptionPassDoesNotSetTheFileThroughSystemd(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", strings.Replace(tightCaps, "memory = \"32MiB\"", "memory = \"32MiB\"\n  cpus = 0.1", 1))
	cg := h.container(idA, "acme-web", 0)
	h.file("cgroup/"+cg+"/memory.max", "67108864\n")
	clock := newClock()
	ctx := context.Background()
	u := &recordingUnits{}
	e, err := New(h.config(), WithClock(clock), WithUnits(u))
	must(t, err)
	e.Tick(ctx)
	// The runtime sets memory.max, and something puts cpu.max back, so the
	// next pass writes (cpu.max) while adopting memory.max.
	h.file("cgroup/"+cg+"/memory.max", "50331648\n")
	h.file("cgroup/"+cg+"/cpu.max", "max 100000\n")
	u.mu.Lock()
	u.set = nil
	u.mu.Unlock()
	for i := 0; i < verifyEvery+1; i++ {
		clock.Add(time.Second)
		e.Tick(ctx)
		if got := e.store.Originals(cg)["memory.max"]; got == "50331648" {
			break
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.set[cg]) == 0 {
		t.Fatal("no unit properties set in the adoption pass")
	}
	if r := u.set[cg][0]; r.MemoryMax != nil || r.CPUQuota == nil {
		t.Fatalf("adoption pass set %+v through systemd: want cpu.max and not memory.max", r)
	}
	if got := h.read("cgroup/" + cg + "/memory.max"); got != "50331648" {
		t.Fatalf("memory.max %s after the adoption pass, want the runtime's", got)
	}
}
