//go:build lab

package kernel

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// TestQuelldDryRunRecordsAndWritesNothing: with --dry-run the CPU
// antagonist of TestQuelldCatchesCPUNoisyNeighbour is recorded as "would
// throttle", with the values it would have set, and nothing is written.
func TestQuelldDryRunRecordsAndWritesNothing(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, noisyE2EPolicy, "--dry-run")
	onset := time.Now()
	a := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-miner", Args: busyArgs(4)})
	var dry view.Event
	seen := watch(40*time.Second, func() bool {
		for _, ev := range q.events() {
			if ev.Target == a.ID && ev.Kind == "throttle" && ev.DryRun {
				dry = ev
				return true
			}
		}
		return false
	})
	if seen.IsZero() {
		logEvents(t, q)
		t.Fatal("dry-run recorded no would-be throttle within 40s")
	}
	time.Sleep(3 * time.Second) // anything written late would show now
	if got := labkit.ReadFile(filepath.Join(a.CgroupDir, "cpu.max")); got != "max 100000" {
		t.Errorf("dry-run wrote cpu.max = %q", got)
	}
	if got := labkit.ReadFile(filepath.Join(a.CgroupDir, "cgroup.freeze")); got != "0" {
		t.Errorf("dry-run froze the antagonist: cgroup.freeze = %q", got)
	}
	for _, ev := range q.events() {
		if ev.Target == a.ID && !ev.DryRun && ev.Kind != "limit" {
			t.Errorf("dry-run acted: %+v", ev)
		}
	}
	v := q.view()
	if !v.DryRun || len(v.Penalties) != 0 {
		t.Errorf("view: dry_run %v, penalties %+v; want dry_run and none in force", v.DryRun, v.Penalties)
	}
	t.Logf("FIGURE e2e dry-run onset→would-throttle event %v (seen by the test after %v); reason %q; after %q",
		dry.Time.Sub(onset).Round(time.Millisecond), seen.Sub(onset).Round(time.Millisecond), dry.Reason, dry.After)
	if !strings.HasPrefix(dry.After, "would set cpu.max ") {
		t.Errorf("dry-run event does not say what it would have written: after %q", dry.After)
	}
}

const freezePolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "cpu-freeze"
when = { signal = "host.cpu.some.avg10", above = 25.0, for = "1s" }
release = 10.0
target = { classes = ["best-effort", "burstable"], rank = "cpu" }
ladder = [{ action = "freeze", for = "8s" }]
cooldown = "2s"
`

const freezeFor = 8 * time.Second

// TestQuelldKilledMidFreezeThawsAfterRestart: quelld freezes a CPU
// antagonist for 8 s and is killed with SIGKILL (no stand-down). (a)
// Restarted after the deadline, it thaws the container at once. (b) Killed
// again mid-freeze and restarted before the deadline, it keeps the freeze
// and thaws at the deadline.
func TestQuelldKilledMidFreezeThawsAfterRestart(t *testing.T) {
	labkit.Require(t)
	localQuelld(t)
	q := startQuelld(t, freezePolicy)
	a := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-miner", Args: busyArgs(4)})
	frozen := func() bool { return frozenState(a.CgroupDir) == "1" }
	thawed := func() bool { return frozenState(a.CgroupDir) == "0" }

	// (a) restart after the deadline.
	onset := time.Now()
	f1 := watch(40*time.Second, frozen)
	if f1.IsZero() {
		logEvents(t, q)
		t.Fatal("antagonist not frozen within 40s")
	}
	deadline := freezeDeadline(t, q, a.ID, f1)
	q.kill9()
	t.Logf("FIGURE e2e freeze reaction onset→frozen %v; deadline %v after frozen", f1.Sub(onset).Round(time.Millisecond), deadline.Sub(f1).Round(time.Millisecond))
	time.Sleep(time.Until(deadline) + time.Second)
	if !frozen() {
		t.Fatal("thawed while quelld was dead: nobody should have thawed it")
	}
	restart := time.Now()
	restartQuelld(q)
	up := time.Now()
	th := watch(10*time.Second, thawed)
	if th.IsZero() {
		t.Fatalf("restarted %v after the freeze deadline; still frozen 10s later", restart.Sub(deadline))
	}
	t.Logf("FIGURE e2e freeze kill-9, restart %v after the deadline: thawed %v after the restart began (%v after its socket was up)",
		restart.Sub(deadline).Round(time.Millisecond), th.Sub(restart).Round(time.Millisecond), th.Sub(up).Round(time.Millisecond))
	if th.Sub(restart) > 5*time.Second {
		t.Errorf("thawed %v after the restart; want promptly", th.Sub(restart))
	}

	// (b) The antagonist is still busy: the rule freezes it again. Kill
	// quelld at once and restart it before the deadline.
	f2 := watch(40*time.Second, frozen)
	if f2.IsZero() {
		logEvents(t, q)
		t.Fatal("antagonist not frozen again within 40s of the restart")
	}
	deadline = freezeDeadline(t, q, a.ID, f2)
	q.kill9()
	restart = time.Now()
	restartQuelld(q)
	if restart.After(deadline) {
		t.Fatalf("restart took until after the deadline (%v late): cannot test a restart before it", restart.Sub(deadline))
	}
	if !frozen() {
		t.Fatalf("restarted %v before the deadline and it thawed at once", deadline.Sub(restart))
	}
	th = watch(deadline.Sub(time.Now())+10*time.Second, thawed)
	if th.IsZero() {
		t.Fatal("never thawed after the deadline")
	}
	t.Logf("FIGURE e2e freeze kill-9, restart %v before the deadline: thawed %v after the deadline",
		deadline.Sub(restart).Round(time.Millisecond), th.Sub(deadline).Round(time.Millisecond))
	if th.Before(deadline.Add(-500*time.Millisecond)) || th.After(deadline.Add(2500*time.Millisecond)) {
		t.Errorf("thawed %v relative to the deadline; want at the deadline (≤ 1 tick + slack)", th.Sub(deadline))
	}
	logEvents(t, q)
}

// frozenState is "frozen" in cgroup.events ("1", "0", or "" if unreadable).
func frozenState(dir string) string {
	for _, line := range strings.Split(labkit.ReadFile(filepath.Join(dir, "cgroup.events")), "\n") {
		if v, ok := strings.CutPrefix(line, "frozen "); ok {
			return v
		}
	}
	return ""
}

// freezeDeadline is the deadline of the freeze on id in force at after,
// from quelld's state file (it is written before the freeze).
func freezeDeadline(t *testing.T, q *quelld, id string, after time.Time) time.Time {
	t.Helper()
	var found time.Time
	watch(5*time.Second, func() bool {
		var d state.Data
		b, err := os.ReadFile(filepath.Join(q.dir, "state", state.FileName))
		if err != nil || json.Unmarshal(b, &d) != nil {
			return false
		}
		for _, p := range d.Penalties {
			if p.Target.ID == id && p.Kind == "freeze" && p.Deadline.After(after) {
				found = p.Deadline
				return true
			}
		}
		return false
	})
	if found.IsZero() {
		logEvents(t, q)
		t.Fatalf("no freeze of %s in quelld's state file after %v (cgroup.events frozen %s)", id, after,
			frozenState(filepath.Join(labkit.Root(), "system.slice", "docker-"+id+".scope")))
	}
	return found
}

// localQuelld puts a copy of quelld from PATH into a local temp dir ahead
// of PATH: the lab serves bin/ over 9p, and exec-ing the 16 MB binary from
// there takes 4-8 s under TCG (0.5-3 s from tmpfs), which would measure
// the share, not quelld's restart.
func localQuelld(t *testing.T) {
	t.Helper()
	src, err := exec.LookPath("quelld")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "quelld"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// restartQuelld starts the same quelld again (same policy, state dir and
// socket) after kill9, and waits for its socket.
func restartQuelld(q *quelld) {
	_ = os.Remove(q.socket)
	q.start()
}
