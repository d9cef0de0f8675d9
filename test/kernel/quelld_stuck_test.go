//go:build lab

package kernel

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

const stuckPolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[tenant]]
name = "web"
  [tenant.match]
  names = ["web-*"]
  [tenant.container]
  cpus = 0.5

[[rule]]
name = "cpu-freeze"
when = { signal = "host.cpu.some.avg10", above = 25.0, for = "1s" }
release = 10.0
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "freeze", for = "4s" }]
cooldown = "10m"
`

// apiEvents returns all of quelld's events through its API (no CLI exec:
// under TCG exec-ing quell from the 9p share takes seconds).
func apiEvents(t *testing.T, c *api.Client) []view.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := c.Events(ctx, 0, 1000, 0)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	return evs
}

func hasEvent(evs []view.Event, cg, kind, text string) bool {
	for _, ev := range evs {
		if strings.HasSuffix("/"+ev.Cgroup, cg) && ev.Kind == kind && strings.Contains(ev.Reason+" "+ev.After, text) {
			return true
		}
	}
	return false
}

// pendingThaw is a thaw in the state file's "thaws" (parsed here, so this
// test also builds against a quelld that kept none).
type pendingThaw struct {
	Cgroup string `json:"cgroup"`
}

func stateThaws(dir string) []pendingThaw {
	var d struct {
		Thaws []pendingThaw `json:"thaws"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "state", state.FileName))
	if err != nil || json.Unmarshal(b, &d) != nil {
		return nil
	}
	return d.Thaws
}

// TestStuckThawDoesNotStallTheLoop: a rule freezes a CPU antagonist for
// 4 s; meanwhile its parent cgroup (machine.slice) is frozen from outside,
// so the antagonist's own thaw (cgroup.freeze 0) can never complete
// (cgroup.events stays "frozen 1"). quelld must keep its passes going:
// another container's drifted cpu.max is put back, the API answers within
// 1 s, quelld is not restarted; the thaw is pending in its state file. It
// is then killed (SIGKILL) while stuck; the antagonist's cgroup.freeze is
// set back to 1 while it is down (a thaw write that never reached the
// kernel); the restarted quelld still finishes the thaw once the parent
// is thawed. (The old loop waited 10 s per thaw, each pass, and forgot
// failed thaws across a restart.)
func TestStuckThawDoesNotStallTheLoop(t *testing.T) {
	labkit.Require(t)
	localQuelld(t)
	q := startQuelld(t, stuckPolicy)
	c := api.NewClient(q.socket)
	web := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "web-app"})
	waitFile(t, filepath.Join(web.CgroupDir, "cpu.max"), "50000 100000", 20*time.Second)
	onset := time.Now()
	a := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Podman, Name: "batch-miner", Args: busyArgs(4)})
	parent := filepath.Dir(a.CgroupDir)
	t.Cleanup(func() { _ = os.WriteFile(filepath.Join(parent, "cgroup.freeze"), []byte("0"), 0o644) })

	f1 := watch(40*time.Second, func() bool { return frozenState(a.CgroupDir) == "1" })
	if f1.IsZero() {
		logEvents(t, q)
		t.Fatal("antagonist not frozen within 40s")
	}
	if err := os.WriteFile(filepath.Join(parent, "cgroup.freeze"), []byte("1"), 0o644); err != nil {
		t.Fatalf("freeze the parent %s: %v", parent, err)
	}
	pid := q.Pid()
	// The freeze ends 4 s after f1: quelld writes the thaw, which cannot
	// complete under the frozen parent.
	stuckAt := watch(20*time.Second, func() bool {
		return labkit.ReadFile(filepath.Join(a.CgroupDir, "cgroup.freeze")) == "0" && frozenState(a.CgroupDir) == "1"
	})
	if stuckAt.IsZero() {
		logEvents(t, q)
		t.Fatalf("quelld wrote no thaw within 20s of the freeze (cgroup.freeze %q, frozen %q)",
			labkit.ReadFile(filepath.Join(a.CgroupDir, "cgroup.freeze")), frozenState(a.CgroupDir))
	}
	pendingAt := watch(5*time.Second, func() bool { return hasEvent(apiEvents(t, c), a.Cgroup, "thaw", "not confirmed") })
	t.Logf("FIGURE stuck thaw: frozen %v after the antagonist started; thaw written %v after the freeze",
		f1.Sub(onset).Round(time.Millisecond), stuckAt.Sub(f1).Round(time.Millisecond))
	if pendingAt.IsZero() {
		t.Errorf("no event says the thaw is pending")
	}

	// The API answers within 1 s, and the watchdog is fed while the last
	// pass is recent (Enforcer.Healthy: within 3 intervals + 5 s); the old
	// loop's 10 s thaws starved it.
	var slowest, stalest time.Duration
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		began := time.Now()
		v, err := c.View(ctx)
		cancel()
		if err != nil {
			t.Fatalf("view while the thaw is stuck: %v", err)
		}
		slowest = max(slowest, time.Since(began))
		stalest = max(stalest, time.Since(v.Loop.LastTick))
		time.Sleep(500 * time.Millisecond)
	}
	// The loop goes on: drift on another container is put back, and the
	// pending thaw is on disk.
	drifted := time.Now()
	if err := os.WriteFile(filepath.Join(web.CgroupDir, "cpu.max"), []byte("max 100000"), 0o644); err != nil {
		t.Fatal(err)
	}
	back := waitFile(t, filepath.Join(web.CgroupDir, "cpu.max"), "50000 100000", 12*time.Second)
	t.Logf("FIGURE stuck thaw: drifted cpu.max of another container put back in %v; slowest of 20 API views (10 s) %v; oldest last pass seen %v; pending thaws on disk %+v",
		back.Round(time.Millisecond), slowest.Round(time.Millisecond), stalest.Round(time.Millisecond), stateThaws(q.dir))
	if stalest > 3*time.Second {
		t.Errorf("the last pass was %v old while a thaw was stuck: the watchdog (fed while it is under 8 s) would starve", stalest)
	}
	if back > 8*time.Second {
		t.Errorf("drift put back %v after %v: the loop stalled", back, drifted)
	}
	if slowest > time.Second {
		t.Errorf("the API took %v to answer while a thaw was stuck", slowest)
	}
	if q.Pid() != pid || syscall.Kill(pid, 0) != nil {
		t.Fatalf("quelld (pid %d) was restarted or died while the thaw was stuck", pid)
	}
	if th := stateThaws(q.dir); len(th) != 1 || "/"+th[0].Cgroup != a.Cgroup {
		t.Fatalf("pending thaws in the state file = %+v, want %s", th, a.Cgroup)
	}

	// Killed while stuck; its thaw write is lost (set back to 1) while it
	// is down; restarted, it writes it again every pass.
	q.kill9()
	if err := os.WriteFile(filepath.Join(a.CgroupDir, "cgroup.freeze"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	restartQuelld(q)
	if w := waitFile(t, filepath.Join(a.CgroupDir, "cgroup.freeze"), "0", 10*time.Second); w > 5*time.Second {
		t.Errorf("the restarted quelld wrote the pending thaw again only after %v", w)
	}
	if frozenState(a.CgroupDir) != "1" {
		t.Fatal("thawed while its parent is frozen?")
	}
	// The parent thaws: the antagonist thaws, and quelld confirms it.
	thawParent := time.Now()
	if err := os.WriteFile(filepath.Join(parent, "cgroup.freeze"), []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	th := watch(10*time.Second, func() bool { return frozenState(a.CgroupDir) == "0" })
	if th.IsZero() {
		t.Fatalf("still frozen 10s after the parent was thawed (cgroup.freeze %q)", labkit.ReadFile(filepath.Join(a.CgroupDir, "cgroup.freeze")))
	}
	confirmed := watch(10*time.Second, func() bool { return hasEvent(apiEvents(t, c), a.Cgroup, "thaw", "thaw confirmed") })
	if confirmed.IsZero() {
		logEvents(t, q)
		t.Fatal("the restarted quelld never confirmed the thaw")
	}
	t.Logf("FIGURE stuck thaw across a restart: thawed %v after the parent; confirmed by quelld %v after the parent",
		th.Sub(thawParent).Round(time.Millisecond), confirmed.Sub(thawParent).Round(time.Millisecond))
	if watch(5*time.Second, func() bool { return len(stateThaws(q.dir)) == 0 }).IsZero() {
		t.Errorf("confirmed thaw still pending in the state file: %+v", stateThaws(q.dir))
	}
}
