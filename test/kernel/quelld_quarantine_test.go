//go:build lab

package kernel

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

const quarantinePolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "cpu-evict"
when = { signal = "host.cpu.some.avg10", above = 25.0, for = "15s" }
release = 10.0
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "evict" }]
cooldown = "2s"
quarantine = "10m"
`

// evictionOf returns the first evict event on cgroup cg (leading "/") whose
// reason holds text, after seq.
func evictionOf(evs []view.Event, cg, text string, after uint64) (view.Event, bool) {
	for _, ev := range evs {
		if ev.Seq > after && ev.Kind == "evict" && "/"+ev.Cgroup == cg && strings.Contains(ev.Reason, text) {
			return ev, true
		}
	}
	return view.Event{}, false
}

// restartLike removes a stopped runc container (as its runtime does
// before a restart) so that one with the same ID can start.
func restartLike(t *testing.T, c *labkit.Container) {
	t.Helper()
	if out, err := exec.Command(labkit.Runc(), "--root", c.StateRoot, "delete", "--force", c.ID).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "does not exist") {
		t.Fatalf("runc delete %s: %v\n%s", c.ID, err, out)
	}
	if err := os.RemoveAll(c.Bundle); err != nil {
		t.Fatal(err)
	}
}

// TestQuarantinedContainerEvictedAgainOnSight: a rule (for = 15s) evicts
// a CPU antagonist "batch-miner". Its "runtime" restarts it at once with
// the same ID and cgroup (Docker --restart=always), idle: quelld evicts it
// again on sight, seconds after, far sooner than the rule's 15 s could,
// and the event says quarantine. Then a container with the same runtime
// and name but a new ID and cgroup (as Kubernetes restarts) is evicted on
// sight too. (The old quelld forgot evicted containers.)
func TestQuarantinedContainerEvictedAgainOnSight(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, quarantinePolicy)
	c := api.NewClient(q.socket)
	a := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-miner", Args: busyArgs(4)})
	var first view.Event
	if watch(90*time.Second, func() bool {
		var ok bool
		first, ok = evictionOf(apiEvents(t, c), a.Cgroup, "", 0)
		return ok
	}).IsZero() {
		logEvents(t, q)
		t.Fatal("antagonist not evicted within 90s")
	}
	if watch(10*time.Second, func() bool { return !populatedDir(a.CgroupDir) }).IsZero() {
		t.Fatal("evicted, but its cgroup still holds processes 10s later")
	}

	// Same ID, same cgroup, idle.
	restartLike(t, a)
	restarted := time.Now()
	b := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, ID: a.ID, Name: "batch-miner"})
	if b.Cgroup != a.Cgroup {
		t.Fatalf("restarted at %s, not %s", b.Cgroup, a.Cgroup)
	}
	var again view.Event
	seen := watch(14*time.Second, func() bool {
		var ok bool
		again, ok = evictionOf(apiEvents(t, c), b.Cgroup, "quarantine", first.Seq)
		return ok
	})
	if seen.IsZero() {
		logEvents(t, q)
		t.Fatal("the restarted container was not evicted again within 14s (the rule alone needs 15s of pressure)")
	}
	dead := watch(10*time.Second, func() bool { return !populatedDir(b.CgroupDir) })
	if dead.IsZero() {
		t.Fatal("quarantine eviction recorded but the restarted container still runs")
	}
	t.Logf("FIGURE quarantine, same ID and cgroup: evicted again %v after the restart (event at %v); empty %v after; reason %q",
		seen.Sub(restarted).Round(time.Millisecond), again.Time.Sub(restarted).Round(time.Millisecond),
		dead.Sub(restarted).Round(time.Millisecond), again.Reason)
	if again.Time.Sub(restarted) > 10*time.Second {
		t.Errorf("re-evicted %v after the restart; want on sight", again.Time.Sub(restarted))
	}

	// New ID and cgroup, same runtime and name.
	restartLike(t, b)
	restarted = time.Now()
	n := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-miner"})
	seen = watch(14*time.Second, func() bool {
		var ok bool
		again, ok = evictionOf(apiEvents(t, c), n.Cgroup, "same identity", first.Seq)
		return ok
	})
	if seen.IsZero() {
		logEvents(t, q)
		t.Fatal("the same-named container under a new ID was not evicted within 14s")
	}
	if watch(10*time.Second, func() bool { return !populatedDir(n.CgroupDir) }).IsZero() {
		t.Fatal("quarantine eviction recorded but the new container still runs")
	}
	t.Logf("FIGURE quarantine, new ID and cgroup: evicted %v after it started; reason %q",
		again.Time.Sub(restarted).Round(time.Millisecond), again.Reason)
}

// populatedDir is cgroup.events "populated 1" (false when gone).
func populatedDir(dir string) bool {
	return strings.Contains(labkit.ReadFile(filepath.Join(dir, "cgroup.events")), "populated 1")
}
