package enforcer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/limits"
)

// freezeFS is limits.FS on a fake tree whose freezer answers at once (the
// fake has no kernel to set "frozen 1" in cgroup.events).
type freezeFS struct {
	*limits.FS
	root string
}

func (f freezeFS) set(cg, v string) error {
	if err := os.WriteFile(filepath.Join(f.root, cg, "cgroup.freeze"), []byte(v+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(f.root, cg, "cgroup.events"), []byte("populated 1\nfrozen "+v+"\n"), 0o644)
}
func (f freezeFS) Freeze(ctx context.Context, cg string) error { return f.set(cg, "1") }
func (f freezeFS) Thaw(ctx context.Context, cg string) error   { return f.set(cg, "0") }

const noisyPolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "cpu-contention"
when = { signal = "host.cpu.some.avg10", above = 40.0, for = "2s" }
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "throttle", factor = 0.5, for = "60s" }, { action = "freeze", for = "30s" }]
cooldown = "30s"
`

func (h *fakeHost) enforcerFS(clock Clock) *Enforcer {
	e, err := New(h.config(), WithClock(clock), WithCgroupFS(freezeFS{limits.NewFS(h.cg), h.cg}))
	must(h.t, err)
	return e
}

// cpuUsage writes cg's cpu.stat with usage_usec = usec (10 periods, none
// throttled).
func (h *fakeHost) cpuUsage(cg string, usec int) {
	h.file("cgroup/"+cg+"/cpu.stat", "usage_usec "+itoa(usec)+"\nuser_usec 0\nsystem_usec 0\nnr_periods 10\nnr_throttled 0\nthrottled_usec 0\n")
}

func (h *fakeHost) cpuPressure(avg10 float64) {
	h.file("proc/pressure/cpu", "some avg10="+strings.TrimRight(strings.TrimRight(fmtF(avg10), "0"), ".")+" avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
}

func fmtF(f float64) string { return strconvF(f) }

func TestNoisyNeighbourThrottledThenFrozenAndThawedAfterRestart(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", noisyPolicy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	ctx := context.Background()
	h.cpuPressure(5)
	e.Tick(ctx)
	usage := 0
	busy := func() { // the antagonist burns 1.8 CPUs
		usage += 1800000
		h.cpuUsage(cg, usage)
	}
	h.cpuPressure(63)
	var throttledAt time.Duration
	for i := 1; i <= 20 && throttledAt == 0; i++ {
		clock.Add(time.Second)
		busy()
		e.Tick(ctx)
		if h.read("cgroup/"+cg+"/cpu.max") != "max 100000" {
			throttledAt = time.Duration(i) * time.Second
		}
	}
	if throttledAt == 0 || throttledAt > 4*time.Second {
		t.Fatalf("not throttled within 4s of sustained pressure (got %v)", throttledAt)
	}
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "90000 100000" {
		t.Fatalf("throttle: cpu.max = %q, want half of 1.8 CPUs = 90000 100000", got)
	}
	if ps := e.View().Penalties; len(ps) != 1 || ps[0].Action != "throttle" {
		t.Fatalf("penalties = %+v", ps)
	}
	// Pressure persists: the ladder goes on to freeze.
	frozen := false
	for i := 0; i < 40 && !frozen; i++ {
		clock.Add(time.Second)
		busy()
		e.Tick(ctx)
		frozen = h.read("cgroup/"+cg+"/cgroup.freeze") == "1"
	}
	if !frozen {
		t.Fatal("pressure persisted but the ladder never froze the culprit")
	}
	// quelld dies here (no stand-down). It comes back after the freeze's
	// deadline: the container must be thawed at once.
	clock.Add(45 * time.Second)
	e2 := h.enforcerFS(clock)
	e2.restorePenalties(ctx)
	if got := h.read("cgroup/" + cg + "/cgroup.freeze"); got != "0" {
		t.Fatalf("after restart past the deadline cgroup.freeze = %q, want thawed", got)
	}
	var kinds []string
	for _, ev := range e2.Events(0, 0) {
		kinds = append(kinds, ev.Kind)
	}
	if !strings.Contains(strings.Join(kinds, ","), "thaw") {
		t.Fatalf("events %v lack the thaw", kinds)
	}
}

func TestDryRunActsOnNothing(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", noisyPolicy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	cfg := h.config()
	cfg.DryRun = true
	e, err := New(cfg, WithClock(clock))
	must(t, err)
	h.cpuPressure(80)
	usage := 0
	for i := 0; i < 10; i++ {
		usage += 1500000
		h.cpuUsage(cg, usage)
		e.Tick(context.Background())
		clock.Add(time.Second)
	}
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "max 100000" {
		t.Fatalf("dry-run wrote cpu.max = %q", got)
	}
	recorded := false
	for _, ev := range e.Events(0, 0) {
		if ev.Kind == "throttle" && ev.DryRun {
			recorded = true
		}
	}
	if !recorded {
		t.Fatal("dry-run recorded no would-be throttle")
	}
}

// flakyThawFS fails the first n thaws.
type flakyThawFS struct {
	freezeFS
	fails *int
}

func (f flakyThawFS) Thaw(ctx context.Context, cg string) error {
	if *f.fails > 0 {
		*f.fails--
		return errors.New("write cgroup.freeze: device busy")
	}
	return f.freezeFS.Thaw(ctx, cg)
}

func TestFailedThawIsRetriedUntilItWorks(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", noisyPolicy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	fails := 2
	e, err := New(h.config(), WithClock(clock), WithCgroupFS(flakyThawFS{freezeFS{limits.NewFS(h.cg), h.cg}, &fails}))
	must(t, err)
	ctx := context.Background()
	// Frozen by an earlier quelld, deadline passed: the restart thaws it.
	must(t, freezeFS{limits.NewFS(h.cg), h.cg}.Freeze(ctx, cg))
	e.store.SetPenalties([]detect.Penalty{{Target: detect.Ref{ID: idA, Cgroup: cg}, Kind: detect.Freeze, Rule: "cpu-contention",
		Since: clock.Now().Add(-time.Minute), Deadline: clock.Now().Add(-time.Second)}})
	e.restorePenalties(ctx)
	if got := h.read("cgroup/" + cg + "/cgroup.freeze"); got != "1" {
		t.Fatalf("the first thaw was meant to fail; cgroup.freeze = %q", got)
	}
	for i := 0; i < 3; i++ {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	if got := h.read("cgroup/" + cg + "/cgroup.freeze"); got != "0" {
		t.Fatalf("after failed thaws and 3 ticks cgroup.freeze = %q, want thawed", got)
	}
}
