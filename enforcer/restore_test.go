package enforcer

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/limits"
)

// recordingUnits is a unitSetter that records what it was asked.
type recordingUnits struct {
	mu  sync.Mutex
	set map[string][]limits.Resources
}

func (u *recordingUnits) SetUnit(_ context.Context, cg string, r limits.Resources) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.set == nil {
		u.set = map[string][]limits.Resources{}
	}
	u.set[cg] = append(u.set[cg], r)
	return true, nil
}

func (u *recordingUnits) EnsureSlice(context.Context, string, limits.Resources) error { return nil }

// An uninstall (quelld --restore-all on the state a running quelld left):
// every changed file gets its original back, through systemd too, a frozen
// container is thawed, a gone cgroup's originals are forgotten, the state
// ends empty, and a second run has nothing to do.
func TestRestoreAllPutsEveryOriginalBack(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	cg := h.container(idA, "acme-web", 0)
	gone := h.container(idB, "acme-gone", 0)
	clock := newClock()
	e := h.enforcer(clock)
	e.Tick(context.Background())
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "50000 100000" {
		t.Fatalf("after a tick cpu.max = %q, want the tenant's 50000 100000", got)
	}
	// A freeze in force, kept on disk, as after a kill -9 mid-penalty.
	h.file("cgroup/"+cg+"/cgroup.freeze", "1\n")
	e.store.SetPenalties([]detect.Penalty{{Target: detect.Ref{ID: idA, Cgroup: cg}, Kind: detect.Freeze, Rule: "r",
		Since: clock.Now(), Deadline: clock.Now().Add(time.Hour)}})
	must(t, e.save())
	must(t, os.RemoveAll(filepath.Join(h.cg, gone)))

	units := &recordingUnits{}
	e2, err := New(e.cfg, WithClock(clock), WithUnits(units))
	must(t, err)
	if err := e2.RestoreAll(context.Background()); err != nil {
		t.Fatalf("RestoreAll: %v", err)
	}
	for f, want := range map[string]string{"cpu.max": "max 100000", "memory.max": "max", "pids.max": "max", "cgroup.freeze": "0"} {
		if got := h.read("cgroup/" + cg + "/" + f); got != want {
			t.Errorf("after RestoreAll %s = %q, want %q", f, got, want)
		}
	}
	max := limits.Max
	if got := units.set[cg]; len(got) != 1 || !reflect.DeepEqual(got[0].MemoryMax, &max) ||
		!reflect.DeepEqual(got[0].PidsMax, &max) || got[0].CPUQuota == nil || *got[0].CPUQuota != max {
		t.Errorf("systemd was asked %+v for %s; want the originals (max) so daemon-reload keeps them", got, cg)
	}
	st, err := state.Open(h.stateD)
	must(t, err)
	if cgs, ps := st.Cgroups(), st.Penalties(); len(cgs) != 0 || len(ps) != 0 {
		t.Errorf("state after RestoreAll: originals for %v, penalties %v; want none", cgs, ps)
	}
	// Nothing left: a second run writes nothing and succeeds.
	h.file("cgroup/"+cg+"/pids.max", "7\n")
	e3, err := New(e.cfg, WithClock(clock))
	must(t, err)
	must(t, e3.RestoreAll(context.Background()))
	if got := h.read("cgroup/" + cg + "/pids.max"); got != "7" {
		t.Errorf("second RestoreAll touched pids.max (%q); it has no originals left", got)
	}
}

func TestRestoreAllRefusedInDryRun(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	e := h.enforcer(&fakeClock{t: time.Now()})
	e.cfg.DryRun = true
	if err := e.RestoreAll(context.Background()); err == nil {
		t.Fatal("RestoreAll in dry-run succeeded; want refused")
	}
}

func TestOriginalsParseBackToResources(t *testing.T) {
	t.Parallel()
	i := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	s := func(v string) *string { return &v }
	got, err := limits.ParseWrites([]limits.Write{{File: "cpu.max", Value: "max 100000"}, {File: "cpu.weight", Value: "100"}, {File: "io.weight", Value: "default 100"},
		{File: "cpuset.cpus", Value: ""}, {File: "memory.max", Value: "max"}, {File: "memory.high", Value: "1048576"}, {File: "memory.low", Value: "0"},
		{File: "memory.swap.max", Value: "max"}, {File: "pids.max", Value: "max"}, {File: "io.max", Value: "254:0 rbps=max wbps=5242880 riops=max wiops=10"}})
	must(t, err)
	want := limits.Resources{CPUQuota: i(limits.Max), CPUPeriod: 100000, CPUWeight: u(100), IOWeight: u(100), CpusetCPUs: s(""),
		MemoryMax: i(limits.Max), MemoryHigh: i(1 << 20), MemoryLow: i(0), SwapMax: i(limits.Max), PidsMax: i(limits.Max),
		IOMax: []limits.IOMax{{Major: 254, Minor: 0, WBPS: 5242880, WIOPS: 10}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseWrites = %+v\nwant %+v", got, want)
	}
	for _, bad := range [][]limits.Write{{{File: "cpu.max", Value: "max"}}, {{File: "pids.max", Value: "lots"}}, {{File: "io.max", Value: "254:0 rbps"}},
		{{File: "io.max", Value: "x rbps=1"}}, {{File: "cgroup.freeze", Value: "1"}}, {{File: "io.max", Value: "254:0 foo=1"}}} {
		if _, err := limits.ParseWrites(bad); err == nil {
			t.Errorf("ParseWrites(%v) succeeded; want an error", bad)
		}
	}
}
