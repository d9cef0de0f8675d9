package enforcer

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/discover"
)

const idA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const idB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeHost is a cgroup tree, runtime state and policy dir under one temp dir.
type fakeHost struct {
	t                          *testing.T
	root, cg, run, pol, stateD string
}

func newFakeHost(t *testing.T) *fakeHost {
	h := &fakeHost{t: t, root: t.TempDir()}
	h.cg = filepath.Join(h.root, "cgroup")
	h.run = filepath.Join(h.root, "run")
	h.pol = filepath.Join(h.root, "policy.d")
	h.stateD = filepath.Join(h.root, "state")
	for _, d := range []string{h.cg, h.run, h.pol} {
		must(t, os.MkdirAll(d, 0o755))
	}
	h.file("cgroup/cgroup.subtree_control", "cpu io memory pids cpuset\n")
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *fakeHost) file(rel, data string) {
	p := filepath.Join(h.root, rel)
	must(h.t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(h.t, os.WriteFile(p, []byte(data), 0o644))
}

func (h *fakeHost) read(rel string) string {
	b, err := os.ReadFile(filepath.Join(h.root, rel))
	must(h.t, err)
	return strings.TrimSpace(string(b))
}

// container makes a Docker-style container cgroup with the files a real
// one has, and runc state naming it.
func (h *fakeHost) container(id, name string, usageUsec int) string {
	cg := "system.slice/docker-" + id + ".scope"
	for f, v := range map[string]string{
		"cpu.max": "max 100000", "cpu.weight": "100", "memory.max": "max", "memory.high": "max",
		"memory.low": "0", "memory.swap.max": "max", "pids.max": "max", "pids.current": "3",
		"memory.current": "1048576", "memory.swap.current": "0",
		"cpu.stat":     "usage_usec " + itoa(usageUsec) + "\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
		"cgroup.procs": "", "cgroup.events": "populated 1\nfrozen 0\n", "cgroup.freeze": "0",
		"memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
	} {
		h.file("cgroup/"+cg+"/"+f, v+"\n")
	}
	h.file("run/docker/runtime-runc/moby/"+id+"/state.json", `{"id":"`+id+`","init_process_pid":0,"config":{"cgroups":{"path":"/`+cg+`"},"labels":["bundle=/nonexistent"]}}`)
	h.file("docker/containers/"+id+"/config.v2.json", `{"Name":"/`+name+`","Config":{"Labels":{}}}`)
	return cg
}

// config is the enforcer's config for this fake host (quiet logger).
func (h *fakeHost) config() Config {
	return Config{CgroupRoot: h.cg, ProcRoot: filepath.Join(h.root, "proc"), StateDir: h.stateD,
		PolicyPaths: []string{h.pol}, Runtimes: discover.Roots{Run: h.run, Docker: filepath.Join(h.root, "docker")},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// newClock is a fake clock at a fixed start.
func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

func itoa(i int) string { return strconv.Itoa(i) }

func fmtInt(i int) string { return strconv.Itoa(i) }

func (h *fakeHost) enforcer(clock Clock) *Enforcer {
	e, err := New(h.config(), WithClock(clock))
	must(h.t, err)
	return e
}

const acmePolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  cpus = 0.5
  memory = "256MiB"
  pids = 100
`

func TestLimitsAppliedOnceAndRestoredWhenTenantRemoved(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	cg := h.container(idA, "acme-web", 0)
	other := h.container(idB, "other", 0)
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()

	e.Tick(ctx)
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "50000 100000" {
		t.Fatalf("cpu.max = %q, want 50000 100000", got)
	}
	if got := h.read("cgroup/" + cg + "/memory.max"); got != "268435456" {
		t.Fatalf("memory.max = %q", got)
	}
	if got := h.read("cgroup/" + other + "/cpu.max"); got != "max 100000" {
		t.Fatalf("unmatched container touched: cpu.max = %q", got)
	}
	v := e.View()
	if len(v.Containers) != 2 || v.Tenants[0].Containers != 1 {
		t.Fatalf("view: %d containers, tenant acme has %d", len(v.Containers), v.Tenants[0].Containers)
	}
	limitEvents := len(e.Events(0, 0))

	clock.Add(time.Second)
	e.Tick(ctx)
	if n := len(e.Events(0, 0)); n != limitEvents {
		t.Fatalf("second tick recorded %d new events; the same policy must write nothing", n-limitEvents)
	}
	plan, err := e.Plan(ctx)
	if err != nil || len(plan) != 0 {
		t.Fatalf("plan after reconcile = %+v, %v; want nothing to do", plan, err)
	}

	// The tenant leaves the policy: originals come back.
	h.file("policy.d/10-acme.toml", "")
	must(t, e.Reload(ctx))
	clock.Add(time.Second)
	e.Tick(ctx)
	for f, want := range map[string]string{"cpu.max": "max 100000", "memory.max": "max", "pids.max": "max"} {
		if got := h.read("cgroup/" + cg + "/" + f); got != want {
			t.Errorf("after removal %s = %q, want original %q", f, got, want)
		}
	}
	if len(e.store.Cgroups()) != 0 {
		t.Errorf("originals still kept for %v", e.store.Cgroups())
	}
}

func TestInvalidPolicyKeepsLastGood(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	cg := h.container(idA, "acme-web", 0)
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	h.file("policy.d/10-acme.toml", acmePolicy+"\nbogus_key = 1\n")
	if err := e.Reload(ctx); err == nil {
		t.Fatal("reload of an invalid policy succeeded")
	}
	clock.Add(time.Second)
	e.Tick(ctx)
	st := e.View().Policy
	if st.Valid || len(st.Errors) == 0 || !strings.Contains(st.Errors[0], "10-acme.toml") {
		t.Fatalf("status = %+v, want invalid with an error naming the file", st)
	}
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "50000 100000" {
		t.Fatalf("last good policy dropped: cpu.max = %q", got)
	}
}

func TestSplitModeKeepsTenantTotal(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-ci.toml", `
[[tenant]]
name = "ci"
  [tenant.match]
  names = ["ci-*"]
  [tenant.limits]
  cpus = 1.5
  memory = "1GiB"
`)
	ids := []string{idA, idB, strings.Repeat("c", 64)}
	var cgs []string
	for i, id := range ids {
		cgs = append(cgs, h.container(id, "ci-"+fmtInt(i), 0))
	}
	// The kernel creates a new cgroup's files; the fake tree needs them.
	for _, f := range []string{"quell-ci.slice/cpu.max", "quell-ci.slice/memory.max"} {
		h.file("cgroup/quell.slice/"+f, "max\n")
	}
	h.file("cgroup/quell.slice/cgroup.subtree_control", "cpu cpuset io memory pids\n")
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	// Two busy (1 CPU each over the interval), one idle, for a few intervals.
	usage := []int{0, 0, 0}
	for round := 0; round < 8; round++ {
		clock.Add(time.Second)
		for i := range cgs {
			if i < 2 {
				usage[i] += 1000000 - (round%3)*200000*i // B's demand moves every pass
			}
			h.file("cgroup/"+cgs[i]+"/cpu.stat", "usage_usec "+fmtInt(usage[i])+"\nuser_usec 0\nsystem_usec 0\nnr_periods 10\nnr_throttled 0\nthrottled_usec 0\n")
		}
		e.Tick(ctx)
	}
	var total float64
	quotas := make([]float64, 3)
	for i, cg := range cgs {
		var q, p float64
		_, err := fmtSscan(h.read("cgroup/"+cg+"/cpu.max"), &q, &p)
		must(t, err)
		quotas[i] = q / p
		total += q / p
	}
	if total < 1.49 || total > 1.51 {
		t.Fatalf("split quotas %v add up to %.3f, want 1.5", quotas, total)
	}
	if quotas[2] > 0.1 || quotas[0] < 0.65 {
		t.Fatalf("split quotas %v: the idle member's share should go to the busy ones", quotas)
	}
	if v := e.View(); v.Tenants[0].Mode != "split" {
		t.Fatalf("mode = %q, want split", v.Tenants[0].Mode)
	}
	// Shares moved with demand every pass; only the first setting of each
	// member's cpu.max is news (the same reason, a new share, is not).
	perCg := map[string]int{}
	for _, ev := range e.Events(0, 10000) {
		if ev.Kind == "limit" && strings.HasPrefix(ev.Reason, "cpu.max:") {
			perCg[ev.Cgroup]++
		}
	}
	for _, cg := range cgs {
		if perCg[cg] > 1 {
			t.Errorf("%s: %d cpu.max limit events for the re-division of one split, want 1", cg, perCg[cg])
		}
	}
	// The tenant slice exists for --cgroup-parent users, with the aggregate.
	if got := h.read("cgroup/quell.slice/quell-ci.slice/cpu.max"); got != "150000 100000" {
		t.Fatalf("tenant slice cpu.max = %q", got)
	}
}

func TestLateDockerStoreEntryIsPickedUpNextTick(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	cg := h.container(idA, "acme-web", 0)
	must(t, os.Remove(filepath.Join(h.root, "docker/containers", idA, "config.v2.json")))
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "max 100000" {
		t.Fatalf("limited before its name was known: cpu.max = %q", got)
	}
	if c := e.View().Containers[0]; c.MetaErr == "" || c.Tenant != "" {
		t.Fatalf("container without its store entry: %+v; want a metadata error and no tenant", c)
	}
	h.file("docker/containers/"+idA+"/config.v2.json", `{"Name":"/acme-web","Config":{"Labels":{}}}`)
	clock.Add(time.Second)
	e.Tick(ctx) // no rescan: the resync is 30 s away
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "50000 100000" {
		t.Fatalf("one tick after the store entry appeared cpu.max = %q, want 50000 100000", got)
	}
}

func TestLoopStatusCountsTicks(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", acmePolicy)
	h.container(idA, "acme-web", 0)
	clock := newClock()
	e := h.enforcer(clock)
	for i := 0; i < 3; i++ {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	if l := e.View().Loop; l.Ticks != 3 || l.Watched != 1 {
		t.Fatalf("loop status = %+v, want 3 ticks over 1 watched cgroup", l)
	}
}

// A settled cgroup's limit files are re-read every verifyEvery passes, not
// every pass: a value changed behind quelld's back comes back within that,
// and a policy change is written on the very next pass.
func TestSettledLimitsReverifiedAndPolicyChangesImmediate(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	cg := h.container(idA, "acme-web", 0)
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	tick := func() {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	tick()
	tick() // settled: nothing to change
	h.file("cgroup/"+cg+"/memory.max", "max\n")
	fixed := 0
	for i := 1; i <= verifyEvery && fixed == 0; i++ {
		tick()
		if h.read("cgroup/"+cg+"/memory.max") == "268435456" {
			fixed = i
		}
	}
	if fixed == 0 {
		t.Fatalf("memory.max changed behind quelld's back not restored within %d passes", verifyEvery)
	}
	tick()
	tick()
	h.file("policy.d/10-acme.toml", strings.Replace(acmePolicy, `memory = "256MiB"`, `memory = "128MiB"`, 1))
	must(t, e.Reload(ctx))
	tick()
	if got := h.read("cgroup/" + cg + "/memory.max"); got != "134217728" {
		t.Fatalf("memory.max = %q one pass after the policy changed, want 134217728", got)
	}
}

// TestSplitAcrossACapToldOnce: a member's split share moving back and forth
// across its per-container cap changes the reason for its cpu.max every
// few passes; each reason is recorded once, not at every crossing.
func TestSplitAcrossACapToldOnce(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-ci.toml", `
[[tenant]]
name = "ci"
  [tenant.match]
  names = ["ci-*"]
  [tenant.limits]
  cpus = 1.5
  [tenant.container]
  cpus = 0.9
`)
	cgs := []string{h.container(idA, "ci-0", 0), h.container(idB, "ci-1", 0)}
	h.file("cgroup/quell.slice/quell-ci.slice/cpu.max", "max\n")
	h.file("cgroup/quell.slice/cgroup.subtree_control", "cpu cpuset io memory pids\n")
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	usage := []int{0, 0}
	reasons := map[string]bool{}
	for round := 0; round < 24; round++ {
		clock.Add(time.Second)
		usage[0] += 1000000
		if (round/4)%2 == 0 {
			usage[1] += 1000000 // busy: A's share near 0.75
		} else {
			usage[1] += 10000 // idle: A's share above its 0.9 cap
		}
		for i, cg := range cgs {
			h.file("cgroup/"+cg+"/cpu.stat", "usage_usec "+fmtInt(usage[i])+"\nuser_usec 0\nsystem_usec 0\nnr_periods 10\nnr_throttled 0\nthrottled_usec 0\n")
		}
		e.Tick(ctx)
		if w := e.View().Containers; len(w) > 0 {
			for _, c := range w {
				if c.Cgroup == cgs[0] {
					for _, l := range c.Limits {
						if l.File == "cpu.max" {
							reasons[l.Why] = true
						}
					}
				}
			}
		}
	}
	if len(reasons) < 2 {
		t.Fatalf("A's cpu.max had reasons %v: the test must cross the cap both ways", reasons)
	}
	n := 0
	for _, ev := range e.Events(0, 10000) {
		if ev.Kind == "limit" && ev.Cgroup == cgs[0] && strings.HasPrefix(ev.Reason, "cpu.max:") {
			n++
		}
	}
	if n > len(reasons) {
		t.Errorf("%d cpu.max limit events for A over %d reasons (%v): each reason should be told once", n, len(reasons), reasons)
	}
}
