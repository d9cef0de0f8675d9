package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

// A cgroup any user can name after a victim's container ID (a fake
// docker-<id>.scope in a delegated subtree) shares the victim's ID: the
// penalty the fake earns must never land on the victim, and the fake
// vanishing must not lift the victim's.
func TestTwoUnitsSharingAnIDAreKeptApart(t *testing.T) {
	t.Parallel()
	victim := unit("abc", policies.BestEffort, "ci", 0.2)
	fake := unit("abc", policies.BestEffort, "ci", 1.9)
	fake.Cgroup = "user.slice/user-1000.slice/user@1000.service/app.slice/docker-abc.scope"
	w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil, victim, fake)
	var acts []Action
	for range 7 {
		acts = append(acts, w.tick(60, time.Second)...)
	}
	if len(acts) != 1 || acts[0].Kind != Throttle || acts[0].Target.Cgroup != fake.Cgroup {
		t.Fatalf("actions = %+v, want one throttle of the fake's cgroup", acts)
	}
	// The victim now burns CPU: it is a culprit of its own, with its own penalty.
	w.units[0].Usage.CPU, w.units[1].Usage.CPU = 3, 0.1
	for range 16 {
		acts = append(acts, w.tick(60, time.Second)...)
	}
	ps := w.e.Penalties()
	if len(ps) != 2 || ps[0].Target.Cgroup == ps[1].Target.Cgroup {
		t.Fatalf("penalties = %+v, want one per cgroup", ps)
	}
	// The fake vanishes: its penalty is lifted, the victim's stays.
	w.units = w.units[:1]
	acts = w.tick(60, time.Second)
	if len(acts) != 1 || acts[0].Kind != Unthrottle || acts[0].Target.Cgroup != fake.Cgroup {
		t.Fatalf("on the fake vanishing: %+v", acts)
	}
	if ps := w.e.Penalties(); len(ps) != 1 || ps[0].Target.Cgroup != victim.Cgroup {
		t.Fatalf("penalties left = %+v, want the victim's", ps)
	}
	// Release by cgroup lifts one; by the shared ID, all of that ID.
	w.units = append(w.units, fake)
	w.e.Restore([]Penalty{{Target: fake.ref(), Kind: Freeze, Rule: "r", Deadline: t0.Add(time.Hour)}})
	if a := w.e.Release(fake.Cgroup); len(a) != 1 || a[0].Target.Cgroup != fake.Cgroup {
		t.Fatalf("release by cgroup = %+v", a)
	}
	if ps := w.e.Penalties(); len(ps) != 1 || ps[0].Target.Cgroup != victim.Cgroup {
		t.Fatalf("penalties after releasing the fake = %+v", ps)
	}
}

// quarantineWorld evicts unit "web" (identity "docker web") with a
// one-step evict rule and returns the world after the kill, with web gone.
func quarantineWorld(t *testing.T, q *time.Duration) (*world, Unit) {
	t.Helper()
	r := cpuRule()
	r.Ladder = []policies.Step{{Action: "evict"}}
	r.Quarantine = q
	web := unit("web", policies.BestEffort, "ci", 2)
	web.Identity = "docker web"
	w := newWorld(t, Config{}, []policies.Rule{r}, nil, web, unit("db", policies.Burstable, "ci", 0.1))
	sameList(t, "first eviction", w.run(60, 6), []string{"5s evict web"})
	w.remove("web")
	if got := w.run(0, 2); len(got) != 0 {
		t.Fatalf("after the kill: %v", got)
	}
	return w, web
}

func populated(v bool) *bool { return &v }

func TestQuarantineEvictsARestartOnSight(t *testing.T) {
	t.Parallel()
	// Docker --restart=always: same ID, same cgroup, running again.
	w, web := quarantineWorld(t, nil)
	web.Usage.CPU, web.Populated = -1, populated(true) // new: no usage yet
	w.units = append(w.units, web)
	acts := w.tick(0, time.Second) // the signal is low: no rule would act
	if len(acts) != 1 || acts[0].Kind != Evict || acts[0].Target.Cgroup != web.Cgroup || acts[0].Rule != "cpu-contention" ||
		!strings.HasPrefix(acts[0].Reason, "quarantine: web was evicted by cpu-contention") ||
		!strings.Contains(acts[0].Reason, "at the same cgroup") || acts[0].Evidence["quarantine"] == "" {
		t.Fatalf("on sight: %+v", acts)
	}
	// Still there (the kill takes a moment): not again until QuarantineSettle.
	for i := 0; time.Duration(i)*time.Second < QuarantineSettle-time.Second; i++ {
		if acts := w.tick(0, time.Second); len(acts) != 0 {
			t.Fatalf("second %d after the kill: %+v", i, acts)
		}
	}
	if acts := w.tick(0, time.Second); len(acts) != 1 || acts[0].Kind != Evict {
		t.Fatalf("still running %s after the kill: %+v", QuarantineSettle, acts)
	}
	// Seen empty, then running again: at once.
	w.units[1].Populated = populated(false)
	if acts := w.tick(0, time.Second); len(acts) != 0 {
		t.Fatalf("empty: %+v", acts)
	}
	w.units[1].Populated = populated(true)
	if acts := w.tick(0, time.Second); len(acts) != 1 {
		t.Fatalf("running again after empty: %+v", acts)
	}
	qs := w.e.Quarantines()
	if len(qs) != 1 || qs[0].Kills != 4 || qs[0].Identity != "docker web" {
		t.Fatalf("quarantines = %+v", qs)
	}
	if u := w.e.State().Evictions.Used; u != 1 {
		t.Fatalf("budget used %d: on-sight evictions must not spend it", u)
	}
}

func TestQuarantineFollowsTheIdentityToANewCgroup(t *testing.T) {
	t.Parallel()
	// Kubernetes: the restarted container has a new ID and cgroup, the same
	// runtime, pod and name.
	w, web := quarantineWorld(t, nil)
	other := unit("web2", policies.BestEffort, "ci", -1)
	other.Identity, other.Populated = "docker other", populated(true)
	again := unit("f00d", policies.BestEffort, "ci", -1)
	again.Identity, again.Populated = web.Identity, populated(true)
	w.units = append(w.units, other, again)
	acts := w.tick(0, time.Second)
	if len(acts) != 1 || acts[0].Target.ID != "f00d" || !strings.Contains(acts[0].Reason, "under the same identity (docker web)") {
		t.Fatalf("on sight: %+v", acts)
	}
	if q := w.e.Quarantines(); len(q) != 1 || q[0].Target.Cgroup != again.Cgroup {
		t.Fatalf("quarantine follows the new cgroup: %+v", q)
	}
}

func TestQuarantineEnds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		q    *time.Duration
		wait time.Duration
		want int
	}{
		{"default 10m, back after 9m", nil, 9 * time.Minute, 1},
		{"default 10m, back after 11m", nil, 11 * time.Minute, 0},
		{"quarantine 0: none", new(time.Duration), 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, web := quarantineWorld(t, tt.q)
			w.now = w.now.Add(tt.wait)
			web.Populated = populated(true)
			w.units = append(w.units, web)
			if acts := w.tick(0, time.Second); len(acts) != tt.want {
				t.Fatalf("actions = %+v, want %d", acts, tt.want)
			}
		})
	}
}

func TestQuarantineRestoredAndNeverOnProtectedOrUnknown(t *testing.T) {
	t.Parallel()
	w, web := quarantineWorld(t, nil)
	saved := w.e.Quarantines()
	w2 := newWorld(t, Config{}, nil, nil)
	w2.now, w2.clk.now = w.now, w.now
	w2.e.RestoreQuarantines(saved)
	if !w2.e.Quarantined(web.Cgroup, "") || !w2.e.Quarantined("elsewhere", "docker web") || w2.e.Quarantined("elsewhere", "") {
		t.Fatal("Quarantined does not match by cgroup or identity")
	}
	unknown := web // Populated not read
	prot := web
	prot.Protected, prot.Populated = true, populated(true)
	for _, u := range []Unit{unknown, prot} {
		w2.units = []Unit{u}
		if acts := w2.tick(0, time.Second); len(acts) != 0 {
			t.Fatalf("acted on %+v: %+v", u, acts)
		}
	}
	w2.units[0].Protected = false
	if acts := w2.tick(0, time.Second); len(acts) != 1 {
		t.Fatalf("restored quarantine did not act: %+v", acts)
	}
	if got := fmt.Sprint(w2.e.Quarantines()[0].Kills); got != "2" {
		t.Fatalf("kills = %s", got)
	}
}
