package enforcer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// usageOf is cg's usage in the last published view.
func usageOf(t *testing.T, e *Enforcer, cg string) view.Usage {
	t.Helper()
	for _, c := range e.View().Containers {
		if c.Cgroup == cg {
			return c.Usage
		}
	}
	t.Fatalf("%s not in the view", cg)
	return view.Usage{}
}

// idleHost is one container, idle (nothing moves) for a few passes.
func idleHost(t *testing.T) (*fakeHost, *Enforcer, *fakeClock, string) {
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	cg := h.container(idA, "acme-web", 1000)
	h.file("cgroup/"+cg+"/io.stat", "254:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n")
	for _, r := range []string{"cpu", "memory", "io"} {
		h.file("cgroup/"+cg+"/"+r+".pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=100\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=50\n")
	}
	clock := newClock()
	e := h.enforcerFS(clock)
	for range 2 * fullEvery {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	return h, e, clock, cg
}

// An idle container's memory that changes without any CPU use (reclaimed
// from it, say) is seen at its next full read: within fullEvery passes,
// and not before (the passes between read cpu.stat alone).
func TestIdleContainerMemoryChangeSeenWithinFullEvery(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	if u := usageOf(t, e, cg); u.MemoryBytes != 1048576 || u.CPUs != 0 {
		t.Fatalf("idle usage = %+v", u)
	}
	h.file("cgroup/"+cg+"/memory.current", "2097152\n")
	o := e.obs.m[cg]
	seenAt := 0
	for i := 1; i <= fullEvery; i++ {
		clock.Add(time.Second)
		e.Tick(context.Background())
		full := e.obs.fullDue(o)
		got := usageOf(t, e, cg).MemoryBytes
		if got == 2097152 {
			seenAt = i
			if !full {
				t.Errorf("pass %d: memory seen on a pass that reads only cpu.stat", i)
			}
			break
		}
		if full {
			t.Fatalf("pass %d: full read, memory still %d", i, got)
		}
	}
	if seenAt == 0 {
		t.Fatalf("memory change not seen within %d passes", fullEvery)
	}
	t.Logf("memory change seen %d passes later", seenAt)
}

// A container that starts using CPU is read in full the same pass, with
// its CPU rate over that pass (not diluted over the idle passes before).
func TestContainerStartingToUseCPUReadInFullSamePass(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	// Make sure the next pass is not a full read anyway.
	o := e.obs.m[cg]
	for (e.obs.beat+1+o.phase)%fullEvery == 0 {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	h.cpuUsage(cg, 1000+500000) // 0.5 s of CPU in the next second
	h.file("cgroup/"+cg+"/memory.current", "3145728\n")
	h.file("cgroup/"+cg+"/pids.current", "7\n")
	clock.Add(time.Second)
	e.Tick(context.Background())
	u := usageOf(t, e, cg)
	if u.MemoryBytes != 3145728 || u.Pids != 7 {
		t.Errorf("memory %d, pids %d: not read the pass its CPU moved", u.MemoryBytes, u.Pids)
	}
	if u.CPUs < 0.49 || u.CPUs > 0.51 {
		t.Errorf("CPUs = %v over %vs, want 0.5 over the last pass", u.CPUs, u.Window)
	}
	// Busy: read in full every pass while it runs.
	h.cpuUsage(cg, 1000+1000000)
	h.file("cgroup/"+cg+"/memory.current", "4194304\n")
	clock.Add(time.Second)
	e.Tick(context.Background())
	if u := usageOf(t, e, cg); u.MemoryBytes != 4194304 || u.CPUs < 0.49 || u.CPUs > 0.51 {
		t.Errorf("busy container's usage %+v not read in full", u)
	}
}

// A container stalled in I/O uses no CPU but moves its pressure totals:
// it is not idle, and a change in its files is seen the next pass.
func TestStalledContainerWithoutCPUIsNotIdle(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	h.file("cgroup/"+cg+"/io.pressure", "some avg10=30.00 avg60=5.00 avg300=1.00 total=900100\nfull avg10=30.00 avg60=5.00 avg300=1.00 total=900050\n")
	// Seen at its next full read…
	for i := 0; i < fullEvery && usageOf(t, e, cg).IOPressure == 0; i++ {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	if p := usageOf(t, e, cg).IOPressure; p != 30 {
		t.Fatalf("io pressure %v not seen within %d passes", p, fullEvery)
	}
	// …and from then on it is read every pass, although its CPU is still.
	for i := 0; i < 2; i++ {
		mem := 5000000 + 4096*i
		h.file("cgroup/"+cg+"/memory.current", itoa(mem)+"\n")
		clock.Add(time.Second)
		e.Tick(context.Background())
		if got := usageOf(t, e, cg).MemoryBytes; got != int64(mem) {
			t.Errorf("pass %d: memory %d, want %d: a stalled container was skipped", i, got, mem)
		}
	}
}

// A container removed while idle (cpu.stat kept open) is noticed, and its
// file closed: it leaves the view and the reading state.
func TestIdleContainerRemovedIsForgotten(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	if o := e.obs.m[cg]; o == nil || o.dir == nil {
		t.Fatal("cpu.stat not kept open for an idle container")
	}
	h.gone(t, cg)
	for range 3 {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	if len(e.View().Containers) != 0 {
		t.Errorf("removed container still in the view: %+v", e.View().Containers)
	}
	if len(e.obs.m) != 0 {
		t.Errorf("reading state kept for a removed container: %d entries", len(e.obs.m))
	}
}

// A container restarted under the same cgroup path (removed and made
// again) is read from its new cgroup, not the old file kept open.
func TestIdleContainerRecreatedIsReadFromItsNewCgroup(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	h.gone(t, cg)
	h.container(idA, "acme-web", 0)
	for range 3 {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	h.cpuUsage(cg, 200000)
	clock.Add(time.Second)
	e.Tick(context.Background())
	if u := usageOf(t, e, cg); u.CPUs < 0.19 || u.CPUs > 0.21 {
		t.Errorf("CPUs = %v after the restart, want 0.2 (read from the new cgroup)", u.CPUs)
	}
}

// A pass woken right after an idle pass (a PSI trigger) that finds the
// container's CPU moving reads it in full but computes no CPU rate over a
// few milliseconds: the next pass does, over the whole span.
func TestWakeUpRightAfterIdlePassKeepsCPURateForTheNextPass(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	h.cpuUsage(cg, 1000+100000) // 0.1 s of CPU
	h.file("cgroup/"+cg+"/memory.current", "3145728\n")
	clock.Add(50 * time.Millisecond)
	e.Tick(context.Background())
	u := usageOf(t, e, cg)
	if u.MemoryBytes != 3145728 {
		t.Errorf("memory %d: not read in full on the woken pass", u.MemoryBytes)
	}
	if u.CPUs != 0 {
		t.Errorf("CPUs = %v over 50 ms, want the last rate (0) kept", u.CPUs)
	}
	clock.Add(950 * time.Millisecond)
	e.Tick(context.Background())
	if u := usageOf(t, e, cg); u.CPUs < 0.099 || u.CPUs > 0.101 || u.Window < 0.99 {
		t.Errorf("CPUs = %v over %vs, want 0.1 over 1s", u.CPUs, u.Window)
	}
}

// TestKeptOpenFilesStayWithinTheBudget: with room for two kept-open
// cgroups, five containers are all read (the rest by path), CPU rates
// included, and a container that goes frees its slot for another.
func TestKeptOpenFilesStayWithinTheBudget(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	var cgs []string
	for i := 0; i < 5; i++ {
		cgs = append(cgs, h.container(fmt.Sprintf("%064x", i+1), fmt.Sprint("acme-", i), 1000))
	}
	clock := newClock()
	e := h.enforcerFS(clock)
	e.obs.budget = 2
	tick := func() {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	tick()
	tick()
	open := func() (n int) {
		for _, o := range e.obs.m {
			if o.dir != nil {
				n++
			}
		}
		return n
	}
	if n := open(); n != 2 || e.obs.open != 2 {
		t.Fatalf("%d kept open (counted %d), budget 2", n, e.obs.open)
	}
	// Every container busy for a second: 0.5 CPUs each, read by dir or path.
	for _, cg := range cgs {
		h.file("cgroup/"+cg+"/cpu.stat", "usage_usec 501000\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
	}
	tick()
	for _, cg := range cgs {
		if u := usageOf(t, e, cg); u.CPUs < 0.49 || u.CPUs > 0.51 {
			t.Errorf("%s: %.3f CPUs, want 0.5", cg, u.CPUs)
		}
	}
	// One with a kept-open dir goes: its slot is taken by another.
	var gone string
	for cg, o := range e.obs.m {
		if o.dir != nil {
			gone = cg
			break
		}
	}
	must(t, os.RemoveAll(filepath.Join(h.cg, gone)))
	e.RequestRescan()
	tick()
	tick()
	if n := open(); n != 2 || e.obs.open != 2 {
		t.Errorf("after one went: %d kept open (counted %d), want 2", n, e.obs.open)
	}
}

// A pass woken by a PSI trigger 300 ms after the last one (the culprit
// started between them) computes the culprit's CPU rate over those 300 ms:
// a rule ranking by cpu finds it on that pass, not a second later.
func TestWakeUpSoonAfterAPassSeesTheNewCPURate(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	h.cpuUsage(cg, 1000+240000) // 1.6 CPUs for the last 150 ms
	clock.Add(300 * time.Millisecond)
	e.Tick(context.Background())
	if u := usageOf(t, e, cg); u.CPUs < 0.79 || u.CPUs > 0.81 {
		t.Errorf("CPUs = %v 300 ms after the last pass, want 0.8 (0.24 s of CPU over 0.3 s)", u.CPUs)
	}
}

// Passes a PSI trigger wakes read idle containers' cpu.stat alone and
// verify no settled limits: the periodic re-reads fall on scheduled
// passes only, so a host whose pressure wakes the loop twice a second
// does not pay for them three times over.
func TestWokenPassesDoNoPeriodicReads(t *testing.T) {
	t.Parallel()
	h, e, clock, cg := idleHost(t)
	// The woken passes come right after the container's full read, and
	// after a verify of its limits (either would repeat if woken passes
	// counted as the scheduled one before them).
	o := e.obs.m[cg]
	for !e.obs.fullDue(o) || (e.beats+jitter(cg))%verifyEvery != 0 {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	h.file("cgroup/"+cg+"/memory.current", "2097152\n")
	h.file("cgroup/"+cg+"/memory.max", "max\n") // loosened behind quelld's back: a verify would restore it
	before := h.read("cgroup/" + cg + "/memory.max")
	loop0 := e.View().Loop
	e.woken = true
	for i := 0; i < 3*fullEvery; i++ {
		clock.Add(300 * time.Millisecond)
		e.Tick(context.Background())
		if got := usageOf(t, e, cg).MemoryBytes; got != 1048576 {
			t.Fatalf("woken pass %d read memory.current (%d)", i+1, got)
		}
		if got := h.read("cgroup/" + cg + "/memory.max"); got != before {
			t.Fatalf("woken pass %d re-verified memory.max: %q", i+1, got)
		}
	}
	if l := e.View().Loop; l.Woken-loop0.Woken != 3*fullEvery || l.FullReads != loop0.FullReads {
		t.Fatalf("after %d woken passes the loop counts %d woken and %d more full reads; want %d and 0", 3*fullEvery, l.Woken-loop0.Woken, l.FullReads-loop0.FullReads, 3*fullEvery)
	}
	e.woken = false
	for i := 1; i <= fullEvery; i++ {
		clock.Add(time.Second)
		e.Tick(context.Background())
		if usageOf(t, e, cg).MemoryBytes == 2097152 {
			if l := e.View().Loop; l.FullReads != loop0.FullReads+1 {
				t.Fatalf("the scheduled pass that read the change counts %d full reads since, want 1", l.FullReads-loop0.FullReads)
			}
			return
		}
	}
	t.Fatalf("memory change not seen within %d scheduled passes after the woken ones", fullEvery)
}
