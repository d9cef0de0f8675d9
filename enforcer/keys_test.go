package enforcer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/limits/tc"
)

// fakeCg is a cgroup a local user made in their delegated subtree, named
// after the victim's container ID.
const fakeCg = "user.slice/user-1000.slice/user@1000.service/app.slice/docker-" + idA + ".scope"

// twinOf tracks a second cgroup claiming t's ID (what discovery did before
// it refused such cgroups): same ID, name, PID and tenant, another cgroup.
func twinOf(h *fakeHost, e *Enforcer, t *tracked) *tracked {
	for f, v := range map[string]string{"cpu.max": "max 100000", "cpu.weight": "100", "cgroup.freeze": "0",
		"cgroup.events": "populated 1\nfrozen 0\n", "memory.high": "max", "pids.max": "max"} {
		h.file("cgroup/"+fakeCg+"/"+f, v+"\n")
	}
	c := t.c
	c.Cgroup = fakeCg
	twin := &tracked{c: c, usage: t.usage, prevT: t.prevT}
	e.known[fakeCg] = twin
	return twin
}

// A throttle of one of two cgroups sharing an ID lands on that cgroup only,
// and lifting it leaves the other alone.
func TestThrottleKeyedByCgroupNotByID(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", noisyPolicy)
	cg := h.container(idA, "batch-victim", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	ctx := context.Background()
	e.Tick(ctx)
	victim := e.known[cg]
	if victim == nil {
		t.Fatal("victim not tracked")
	}
	twin := twinOf(h, e, victim)
	twin.usage.CPUs = 1.8
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	a := detect.Action{Kind: detect.Throttle, Target: detect.Ref{ID: idA, Cgroup: fakeCg}, Rule: "cpu-contention",
		Factor: 0.5, Deadline: clock.Now().Add(time.Minute), Reason: "test"}
	must(t, e.execute(ctx, e.currentPolicy(), a))
	if _, ok := e.det.throttles[fakeCg]; !ok || len(e.det.throttles) != 1 {
		t.Fatalf("throttles = %v, want the fake's cgroup only", e.det.throttles)
	}
	if got := h.read("cgroup/" + fakeCg + "/cpu.max"); got != "90000 100000" {
		t.Fatalf("fake's cpu.max = %q, want its throttle", got)
	}
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "max 100000" {
		t.Fatalf("victim's cpu.max = %q: the fake's throttle landed on the victim", got)
	}
	if m := e.member(victim); m.Throttle != nil {
		t.Fatalf("the victim's plan carries the fake's throttle: %+v", m.Throttle)
	}
	a.Kind = detect.Unthrottle
	must(t, e.execute(ctx, e.currentPolicy(), a))
	if len(e.det.throttles) != 0 {
		t.Fatalf("throttles after lifting = %v", e.det.throttles)
	}
}

// Two cgroups with one ID (and so one init PID and veth): only the first is
// shaped; the second vanishing removes nothing, and the first keeps its
// filter.
func TestSharedVethShapedOnceAndNeverRemovedByTheTwin(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(netPolicy, "100Mbit"))
	cg, _ := h.runningContainer(idA, "acme-web", 4242)
	sh := newFakeShaper()
	sh.nets[h.netnsOf(4242)] = tc.NetInfo{Interface: "eth0", HostVeth: "veth1"}
	sh.counters["veth1"] = tc.NetUsage{}
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(sh), WithDiskQuotas(newFakeQuotas()))
	ctx := context.Background()
	e.Tick(ctx)
	if _, ok := sh.shaped[cg]; !ok {
		t.Fatalf("victim not shaped: %v", sh.shaped)
	}
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	twin := twinOf(h, e, e.known[cg])
	pol := e.currentPolicy()
	e.shapeNetwork(ctx, pol)
	applies, removes, _ := sh.calls()
	for _, a := range applies {
		if strings.HasPrefix(a, fakeCg) {
			t.Fatalf("the twin was shaped on the victim's veth: %s", a)
		}
	}
	if len(twin.errs) == 0 || !strings.Contains(twin.errs[len(twin.errs)-1], "already shaped for cgroup "+cg) {
		t.Fatalf("twin errors = %q", twin.errs)
	}
	refused := false
	for _, ev := range eventsOf(e, "error") {
		refused = refused || (ev.Cgroup == fakeCg && strings.Contains(ev.Reason, "two cgroups claim one network"))
	}
	if !refused {
		t.Fatalf("no event says the twin was refused: %+v", e.Events(0, 0))
	}
	// The twin vanishes: nothing is removed; the victim keeps its shaping.
	delete(e.known, fakeCg)
	e.shapeNetwork(ctx, pol)
	_, removes, _ = sh.calls()
	if len(removes) != 0 {
		t.Fatalf("removes = %q, want none", removes)
	}
	if _, ok := sh.shaped[cg]; !ok {
		t.Fatalf("the victim lost its shaping: %v", sh.shaped)
	}
}

// Two cgroups with one ID (and so one init PID and writable layer): only
// the first gets the layer's project; the second vanishing untags nothing.
func TestSharedLayerTaggedOnceAndNeverUntaggedByTheTwin(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "container", "8MiB"))
	cg, upper := h.runningContainer(idA, "acme-web", 4242)
	q := newFakeQuotas()
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(newFakeShaper()), WithDiskQuotas(q))
	ctx := context.Background()
	e.Tick(ctx)
	before := q.log()
	if len(before) != 2 {
		t.Fatalf("victim not limited: %q", before)
	}
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	twin := twinOf(h, e, e.known[cg])
	pol := e.currentPolicy()
	e.quotaDisks(pol)
	if got := q.log(); len(got) != len(before) {
		t.Fatalf("the twin touched quotas: %q", got[len(before):])
	}
	if len(twin.errs) == 0 || !strings.Contains(strings.Join(twin.errs, " "), "already in the disk project of cgroup "+cg) {
		t.Fatalf("twin errors = %q", twin.errs)
	}
	delete(e.known, fakeCg)
	e.quotaDisks(pol)
	if got := q.log(); len(got) != len(before) {
		t.Fatalf("the twin's release touched quotas: %q", got[len(before):])
	}
	if q.tags[upper] == 0 {
		t.Fatalf("the victim's layer lost its project: %v", q.tags)
	}
}
