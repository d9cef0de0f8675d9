package enforcer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakePrlimit is processes' limits in memory; onGet runs on each Get (to
// make a PID be reused at the worst moment).
type fakePrlimit struct {
	mu    sync.Mutex
	l     map[int]map[int]unix.Rlimit
	sets  map[int]int // pid → Set calls
	onGet func(pid int)
}

var _ Prlimiter = (*fakePrlimit)(nil)

func newFakePrlimit() *fakePrlimit {
	return &fakePrlimit{l: map[int]map[int]unix.Rlimit{}, sets: map[int]int{}}
}

func (f *fakePrlimit) Get(pid, res int) (unix.Rlimit, error) {
	if f.onGet != nil {
		f.onGet(pid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.l[pid]
	if !ok {
		return unix.Rlimit{}, syscall.ESRCH
	}
	return m[res], nil
}

func (f *fakePrlimit) Set(pid, res int, l unix.Rlimit) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.l[pid]
	if !ok {
		return syscall.ESRCH
	}
	m[res] = l
	f.sets[pid]++
	return nil
}

func (f *fakePrlimit) proc(pid int, nofile, core unix.Rlimit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.l[pid] = map[int]unix.Rlimit{unix.RLIMIT_NOFILE: nofile, unix.RLIMIT_CORE: core}
}

func (f *fakePrlimit) get(pid, res int) unix.Rlimit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.l[pid][res]
}

func (h *fakeHost) proc(pid int, start uint64) {
	h.file(fmt.Sprintf("proc/%d/stat", pid), fmt.Sprintf("%d (sh) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, start))
}

func rl(soft, hard uint64) unix.Rlimit { return unix.Rlimit{Cur: soft, Max: hard} }

const inf = unix.RLIM_INFINITY

const ulimitPolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  ulimits = { nofile = 64, core = 0 }
`

func TestUlimitsAppliedToEveryProcessAndRestored(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", ulimitPolicy)
	cg := h.container(idA, "acme-web", 0)
	other := h.container(idB, "other", 0)
	pl := newFakePrlimit()
	docker := rl(1048576, 1048576)
	for _, pid := range []int{101, 102, 103, 201} {
		h.proc(pid, uint64(pid*10))
		pl.proc(pid, docker, rl(0, inf))
	}
	pl.proc(103, rl(32, 1048576), rl(0, inf)) // lowered its own soft limit
	h.file("cgroup/"+cg+"/cgroup.procs", "101\n102\n")
	h.file("cgroup/"+cg+"/inner/cgroup.procs", "103\n") // a cgroup the container made below its own
	h.file("cgroup/"+other+"/cgroup.procs", "201\n")
	clock := newClock()
	e, err := New(h.config(), WithClock(clock), WithPrlimit(pl))
	must(t, err)
	ctx := context.Background()

	plan, err := e.Plan(ctx)
	must(t, err)
	if s := fmt.Sprint(plan); !strings.Contains(s, "ulimit nofile 1048576 64 (prlimit on 3 processes)") {
		t.Errorf("plan = %s", s)
	}
	if got := pl.get(101, unix.RLIMIT_NOFILE); got != docker {
		t.Fatalf("plan set a limit: %v", got)
	}
	e.Tick(ctx)
	if plan, err := e.Plan(ctx); err != nil || len(plan) != 0 {
		t.Errorf("plan after the pass = %+v, %v; want nothing to do", plan, err)
	}
	for pid, want := range map[int]unix.Rlimit{101: rl(64, 64), 102: rl(64, 64), 103: rl(32, 64), 201: docker} {
		if got := pl.get(pid, unix.RLIMIT_NOFILE); got != want {
			t.Errorf("PID %d nofile = %v, want %v", pid, got, want)
		}
	}
	if got := pl.get(101, unix.RLIMIT_CORE); got != rl(0, 0) {
		t.Errorf("core = %v, want 0:0", got)
	}
	var found bool
	for _, c := range e.View().Containers {
		for _, l := range c.Limits {
			if c.Cgroup == cg && l.File == "ulimit nofile" {
				found = true
				if l.Value != "64" || l.Original != "1048576" || l.DecidedBy != "policy" {
					t.Errorf("view ulimit nofile = %+v", l)
				}
			}
		}
	}
	if !found {
		t.Error("view shows no ulimit nofile on the container")
	}
	x, err := e.Explain(ctx, "acme-web")
	must(t, err)
	if !strings.Contains(fmt.Sprint(x.Limits), "ulimit nofile 1048576 64") {
		t.Errorf("explain limits = %+v", x.Limits)
	}

	// A process docker exec started (the runtime's default) is caught by
	// the next pass; nothing already right is set again.
	h.proc(104, 1040)
	pl.proc(104, docker, rl(0, inf))
	h.file("cgroup/"+cg+"/cgroup.procs", "101\n102\n104\n")
	sets := pl.sets[101]
	clock.Add(time.Second)
	e.Tick(ctx)
	if got := pl.get(104, unix.RLIMIT_NOFILE); got != rl(64, 64) {
		t.Errorf("exec'd PID 104 nofile = %v, want 64", got)
	}
	if pl.sets[101] != sets {
		t.Errorf("PID 101 set again although it holds the limit")
	}
	for _, ev := range e.Events(0, 0) {
		if strings.Contains(ev.Reason, "ulimit nofile") && strings.Contains(ev.Reason, "on 1 processes") {
			t.Errorf("a process caught later made an event: %s", ev.Reason)
		}
	}

	// A PID reused by another process between the listing and the call
	// gets nothing.
	h.proc(105, 1050)
	pl.proc(105, docker, rl(0, inf))
	h.file("cgroup/"+cg+"/cgroup.procs", "101\n102\n104\n105\n")
	pl.onGet = func(pid int) {
		if pid == 105 {
			h.proc(105, 9999)
		}
	}
	clock.Add(time.Second)
	e.Tick(ctx)
	pl.onGet = nil
	if pl.sets[105] != 0 {
		t.Errorf("a reused PID got a limit")
	}

	// The policy raises the limit: processes holding quell's old value get
	// the new one (still under Docker's original).
	h.file("policy.d/10-acme.toml", strings.Replace(ulimitPolicy, "nofile = 64", "nofile = 128", 1))
	must(t, e.Reload(ctx))
	clock.Add(time.Second)
	e.Tick(ctx)
	for pid, want := range map[int]unix.Rlimit{101: rl(128, 128), 104: rl(128, 128), 103: rl(32, 64)} {
		if got := pl.get(pid, unix.RLIMIT_NOFILE); got != want {
			t.Errorf("after raising the policy PID %d nofile = %v, want %v", pid, got, want)
		}
	}

	// The tenant leaves the policy: every process holding quell's value
	// gets the original back; one that chose less itself is left alone.
	h.file("policy.d/10-acme.toml", "")
	must(t, e.Reload(ctx))
	clock.Add(time.Second)
	e.Tick(ctx)
	for pid, want := range map[int]unix.Rlimit{101: docker, 102: docker, 104: docker, 103: rl(32, 64)} {
		if got := pl.get(pid, unix.RLIMIT_NOFILE); got != want {
			t.Errorf("after removal PID %d nofile = %v, want %v", pid, got, want)
		}
	}
	if got := pl.get(101, unix.RLIMIT_CORE); got != rl(0, inf) {
		t.Errorf("after removal core = %v, want the original 0:unlimited", got)
	}
	if cgs := e.store.UlimitCgroups(); len(cgs) != 0 {
		t.Errorf("ulimit originals still kept for %v", cgs)
	}
}

func TestUlimitsRuntimeIsCeilingUnlessOverride(t *testing.T) {
	t.Parallel()
	for _, override := range []bool{false, true} {
		t.Run(fmt.Sprint("override=", override), func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t)
			h.file("policy.d/10-acme.toml", fmt.Sprintf(`
[[tenant]]
name = "acme"
override = %v
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  ulimits = { nofile = 4096 }
`, override))
			cg := h.container(idA, "acme-web", 0)
			pl := newFakePrlimit()
			h.proc(101, 1010)
			pl.proc(101, rl(1024, 2048), rl(0, inf)) // docker run --ulimit nofile=1024:2048
			h.file("cgroup/"+cg+"/cgroup.procs", "101\n")
			e, err := New(h.config(), WithClock(newClock()), WithPrlimit(pl))
			must(t, err)
			e.Tick(context.Background())
			want := rl(1024, 2048)
			if override {
				want = rl(4096, 4096)
			}
			if got := pl.get(101, unix.RLIMIT_NOFILE); got != want {
				t.Errorf("nofile = %v, want %v", got, want)
			}
			must(t, e.RestoreAll(context.Background()))
			if got := pl.get(101, unix.RLIMIT_NOFILE); got != rl(1024, 2048) {
				t.Errorf("after restore-all nofile = %v, want the original", got)
			}
		})
	}
}

func TestUlimitFor(t *testing.T) {
	t.Parallel()
	orig, want := rl(1048576, 1048576), rl(64, 64)
	for _, c := range []struct {
		cur, got unix.Rlimit
		change   bool
	}{
		{orig, want, true},
		{want, want, false},
		{rl(32, 64), rl(32, 64), false},          // chose less itself
		{rl(32, inf), rl(32, 64), true},          // hard above quell's
		{rl(2000000, 2000000), rl(64, 64), true}, // above even the original
		{rl(10, 20), rl(10, 20), false},          // below in both
	} {
		got, change := ulimitFor(c.cur, orig, rl(128, 128), want)
		if got != c.got || change != c.change {
			t.Errorf("ulimitFor(%v) = %v, %v; want %v, %v", c.cur, got, change, c.got, c.change)
		}
	}
	if got := ulimitWant(rl(1024, inf), 4096, false); got != rl(1024, 4096) {
		t.Errorf("ulimitWant = %v", got)
	}
	if s := fmtRlimit(rl(0, inf)); s != "0:unlimited" {
		t.Errorf("fmtRlimit = %q", s)
	}
}

func TestUlimitsDryRunSetsNothing(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", ulimitPolicy)
	cg := h.container(idA, "acme-web", 0)
	pl := newFakePrlimit()
	h.proc(101, 1010)
	pl.proc(101, rl(1048576, 1048576), rl(0, inf))
	h.file("cgroup/"+cg+"/cgroup.procs", "101\n")
	cfg := h.config()
	cfg.DryRun = true
	e, err := New(cfg, WithClock(newClock()), WithPrlimit(pl))
	must(t, err)
	e.Tick(context.Background())
	if pl.sets[101] != 0 {
		t.Fatalf("dry-run set a limit")
	}
	if len(e.store.UlimitCgroups()) != 0 {
		t.Errorf("dry-run kept originals")
	}
	var val string
	for _, c := range e.View().Containers {
		for _, l := range c.Limits {
			if l.File == "ulimit nofile" {
				val = l.Value
			}
		}
	}
	if val != "64 (dry-run: 1 processes would be set)" {
		t.Errorf("view ulimit nofile = %q", val)
	}
}
