package enforcer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/limits"
)

// stuckFS is freezeFS whose thaws the kernel does not confirm while stuck
// (a frozen parent): cgroup.freeze becomes 0, cgroup.events stays frozen
// 1, and Thaw waits until its ctx ends, as limits.FS does. It records the
// longest wait it was given.
type stuckFS struct {
	freezeFS
	mu      sync.Mutex
	stuck   bool
	longest time.Duration
	clock   Clock
}

func (f *stuckFS) Thaw(ctx context.Context, cg string) error {
	f.mu.Lock()
	stuck := f.stuck
	if d, ok := ctx.Deadline(); !ok {
		f.longest = 24 * time.Hour
	} else if w := time.Until(d); w > f.longest {
		f.longest = w
	}
	f.mu.Unlock()
	if !stuck {
		return f.freezeFS.Thaw(ctx, cg)
	}
	if err := os.WriteFile(filepath.Join(f.root, cg, "cgroup.freeze"), []byte("0\n"), 0o644); err != nil {
		return err
	}
	<-ctx.Done()
	return fmt.Errorf("thaw %s: %w: %w", cg, limits.ErrFreezeTimeout, ctx.Err())
}

func (f *stuckFS) set(stuck bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stuck = stuck
}

func (f *stuckFS) maxWait() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.longest
}

func frozenEvents(h *fakeHost, cg string) string {
	return h.read("cgroup/" + cg + "/cgroup.events")
}

// A thaw the kernel never confirms does not hold the loop: the action
// waits at most freezeWait, each pass at most confirmWait; the thaw stays
// pending in the state file, survives a restart and is confirmed once
// the kernel lets it.
func TestStuckThawDoesNotHoldTheLoopAndSurvivesARestart(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", noisyPolicy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	fsys := &stuckFS{freezeFS: freezeFS{limits.NewFS(h.cg), h.cg}, clock: clock}
	e, err := New(h.config(), WithClock(clock), WithCgroupFS(fsys))
	must(t, err)
	ctx := context.Background()
	e.Tick(ctx)
	// Frozen by a penalty that ends now; the parent is frozen meanwhile.
	must(t, fsys.Freeze(ctx, cg))
	e.det.eng.Restore([]detect.Penalty{{Target: detect.Ref{ID: idA, Cgroup: cg}, Kind: detect.Freeze, Rule: "cpu-contention",
		Since: clock.Now(), Deadline: clock.Now().Add(time.Second)}})
	fsys.set(true)
	clock.Add(2 * time.Second)
	began := time.Now()
	for range 5 {
		e.Tick(ctx)
		clock.Add(time.Second)
	}
	if took := time.Since(began); took > 5*time.Second { // the old loop: 10 s per pass
		t.Fatalf("5 passes with a stuck thaw took %v", took)
	}
	if w := fsys.maxWait(); w > freezeWait {
		t.Fatalf("the loop waited up to %v for a thaw, want at most %v", w, freezeWait)
	}
	if !strings.Contains(frozenEvents(h, cg), "frozen 1") || h.read("cgroup/"+cg+"/cgroup.freeze") != "0" {
		t.Fatalf("fake: freeze %q events %q", h.read("cgroup/"+cg+"/cgroup.freeze"), frozenEvents(h, cg))
	}
	said := false
	for _, ev := range eventsOf(e, "thaw") {
		said = said || strings.Contains(ev.After, "not confirmed it yet")
	}
	if !said {
		t.Fatalf("no event says the thaw is pending: %+v", eventsOf(e, "thaw"))
	}
	st, err := state.Open(h.stateD)
	must(t, err)
	if th := st.Thaws(); len(th) != 1 || th[0].Cgroup != cg {
		t.Fatalf("pending thaws on disk = %+v", th)
	}

	// quelld dies (no stand-down) and starts again, still stuck.
	e2, err := New(h.config(), WithClock(clock), WithCgroupFS(fsys))
	must(t, err)
	e2.restorePenalties(ctx)
	e2.Tick(ctx)
	if _, ok := e2.det.thaws[cg]; !ok {
		t.Fatal("the pending thaw was forgotten across the restart")
	}
	// The parent is thawed: the next pass confirms it.
	fsys.set(false)
	clock.Add(time.Second)
	e2.Tick(ctx)
	if !strings.Contains(frozenEvents(h, cg), "frozen 0") {
		t.Fatalf("not thawed after the parent was: %q", frozenEvents(h, cg))
	}
	confirmed := false
	for _, ev := range eventsOf(e2, "thaw") {
		confirmed = confirmed || strings.Contains(ev.Reason, "thaw confirmed")
	}
	if !confirmed || len(e2.det.thaws) != 0 {
		t.Fatalf("thaw not confirmed: pending %v, events %+v", e2.det.thaws, eventsOf(e2, "thaw"))
	}
	must(t, e2.save())
	st, err = state.Open(h.stateD)
	must(t, err)
	if th := st.Thaws(); len(th) != 0 {
		t.Fatalf("confirmed thaw still on disk: %+v", th)
	}
}

// A corrupt state file: quelld starts from the previous copy, keeps its
// penalties and says so in an event.
func TestCorruptStateStartsFromThePreviousCopy(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", noisyPolicy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	ctx := context.Background()
	e.Tick(ctx)
	pen := detect.Penalty{Target: detect.Ref{ID: idA, Cgroup: cg}, Kind: detect.Freeze, Rule: "cpu-contention",
		Since: clock.Now(), Deadline: clock.Now().Add(time.Hour)}
	e.det.eng.Restore([]detect.Penalty{pen})
	e.persistPenalties()
	clock.Add(time.Second)
	e.Tick(ctx) // one more save: the penalty is in the previous copy too
	if _, err := os.Stat(filepath.Join(h.stateD, state.PrevName)); err != nil {
		t.Fatal(err)
	}
	h.file("state/state.json", "\x00\x01 not json")

	e2 := h.enforcerFS(clock)
	e2.restorePenalties(ctx)
	if ps := e2.det.eng.Penalties(); len(ps) != 1 || ps[0].Target.Cgroup != cg {
		t.Fatalf("penalties after recovery = %+v", ps)
	}
	said := false
	for _, ev := range eventsOf(e2, "error") {
		said = said || strings.Contains(ev.Reason, "previous copy")
	}
	if !said {
		t.Fatalf("no event says the state was recovered: %+v", e2.Events(0, 0))
	}
}

const quarantinePolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "cpu-contention"
when = { signal = "host.cpu.some.avg10", above = 40.0, for = "2s" }
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "evict" }]
cooldown = "30s"
`

// An evicted container its runtime restarts at the same cgroup is evicted
// again on sight, with no pressure and no "for", and the event says why.
func TestQuarantinedContainerEvictedAgainOnSight(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", quarantinePolicy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	ctx := context.Background()
	h.cpuPressure(80)
	usage := 0
	for i := 0; i < 6 && len(eventsOf(e, "evict")) == 0; i++ {
		usage += 1800000
		h.cpuUsage(cg, usage)
		e.Tick(ctx)
		clock.Add(time.Second)
	}
	if n := len(eventsOf(e, "evict")); n != 1 {
		t.Fatalf("%d evictions, want 1", n)
	}
	// Killed: the cgroup is empty for a pass, then the runtime restarts it.
	h.cpuPressure(0)
	h.file("cgroup/"+cg+"/cgroup.events", "populated 0\nfrozen 0\n")
	e.Tick(ctx)
	clock.Add(time.Second)
	if n := len(eventsOf(e, "evict")); n != 1 {
		t.Fatalf("evicted an empty cgroup: %+v", eventsOf(e, "evict"))
	}
	h.file("cgroup/"+cg+"/cgroup.events", "populated 1\nfrozen 0\n")
	e.Tick(ctx)
	evs := eventsOf(e, "evict")
	if len(evs) != 2 || !strings.HasPrefix(evs[1].Reason, "quarantine: batch-miner was evicted by cpu-contention") ||
		evs[1].Cgroup != cg || evs[1].Evidence["quarantine"] == "" {
		t.Fatalf("evict events = %+v", evs)
	}
	// The quarantine is on disk for a restart.
	st, err := state.Open(h.stateD)
	must(t, err)
	if q := st.Quarantines(); len(q) != 1 || q[0].Target.Cgroup != cg || q[0].Identity != "docker batch-miner" {
		t.Fatalf("quarantines on disk = %+v", q)
	}
	// And in the view `quell status` renders.
	if q := e.View().Quarantine; len(q) != 1 || q[0].Identity != "docker batch-miner" || q[0].Kills != 2 || q[0].Rule != "cpu-contention" {
		t.Fatalf("view quarantine = %+v", q)
	}
}
