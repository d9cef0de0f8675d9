//go:build lab

package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// gatedArgs is a busybox shell that waits for /tmp/go (created by the test
// through /proc/<init>/root, see release) and then runs script.
func gatedArgs(script string) []string {
	return []string{"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; " + script}
}

// release lets a gatedArgs container go and returns the moment it did.
func release(t *testing.T, c *labkit.Container) time.Time {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/root/tmp/go", c.InitPID), nil, 0o644); err != nil {
		t.Fatalf("release container %s: %v", c.Name, err)
	}
	return time.Now()
}

// emptied reports whether no task is left in the container's cgroup.
func emptied(c *labkit.Container) bool {
	return labkit.ReadFile(filepath.Join(c.CgroupDir, "cgroup.procs")) == ""
}

const forkBombPolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]
  [tenant.container]
  pids = 256

[[rule]]
name = "fork-storm"
when = { signal = "host.cpu.some.avg10", above = 25.0, for = "1s" }
release = 10.0
target = { classes = ["best-effort", "burstable"], rank = "pids" }
ladder = [{ action = "throttle", factor = 0.5, for = "20s" }, { action = "evict" }]
cooldown = "10s"
`

// TestQuelldCatchesForkBomb: a fork-and-spin bomb in a best-effort
// container (every task forks two and spins; capped at 256 tasks by its
// tenant; the container's init execs sleep so the cap does not kill it)
// saturates the CPUs; the rule on host CPU pressure, ranking by tasks,
// throttles it (pids.max down to its task count, cpu.max halved), which
// either contains it (the pressure falls) or, if the pressure persists,
// leads to its eviction. A quiet sibling in the same tenant is left alone,
// also while host.cpu.some.avg10 still lags above the threshold after an
// eviction.
//
// (A pure fork bomb is not a CPU problem once capped: busybox sh exits on a
// failed fork, and the cap fills with zombies and sleepers. Without a pids
// signal in the policy format, the cap itself is what contains that kind.)
func TestQuelldCatchesForkBomb(t *testing.T) {
	labkit.Require(t)
	// A rule on host pressure must start from a quiet host: what earlier
	// tests left running would otherwise be blamed on this one's containers.
	waitQuiet(t, 40*time.Second)
	q := startQuelld(t, forkBombPolicy)
	quiet := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-quiet"})
	bomb := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-bomb",
		Args: gatedArgs("f(){ f & f & while :; do :; done; }; f & exec sleep 3600")})
	waitFile(t, filepath.Join(bomb.CgroupDir, "pids.max"), "256", 10*time.Second)
	time.Sleep(2 * time.Second) // let host.cpu.some.avg10 settle below the threshold

	onset := release(t, bomb)
	var peak int
	var pidsMax, cpuMax string
	throttled := watch(40*time.Second, func() bool {
		n, _ := strconv.Atoi(labkit.ReadFile(filepath.Join(bomb.CgroupDir, "pids.current")))
		peak = max(peak, n)
		pidsMax = labkit.ReadFile(filepath.Join(bomb.CgroupDir, "pids.max"))
		cpuMax = labkit.ReadFile(filepath.Join(bomb.CgroupDir, "cpu.max"))
		return pidsMax != "256" || cpuMax != "max 100000" || emptied(bomb)
	})
	if emptied(bomb) && !throttled.IsZero() {
		if _, ok := firstEvent(q.events(), bomb.ID, "evict"); !ok {
			t.Fatalf("the fork bomb's container died by itself (peak %d tasks): no test", peak)
		}
	}
	if throttled.IsZero() {
		logEvents(t, q)
		t.Fatalf("fork bomb not acted on within 40s (peak %d tasks, now %s; host cpu some avg10 %.1f)",
			peak, labkit.ReadFile(filepath.Join(bomb.CgroupDir, "pids.current")), hostPSI("cpu", "some"))
	}
	used, _ := labkit.CPUUsage(bomb.CgroupDir)
	// Caught: either the throttle contains it (host CPU pressure falls below
	// the rule's release while it is in force) or, if the pressure
	// persists, the ladder evicts it.
	var outcome string
	settled := watch(30*time.Second, func() bool {
		switch {
		case emptied(bomb):
			outcome = "evicted"
		case hostPSI("cpu", "some") < 10:
			outcome = "contained by the throttle"
		}
		return outcome != ""
	})
	if settled.IsZero() {
		logEvents(t, q)
		t.Fatalf("fork bomb throttled (pids.max %s, cpu.max %s) but neither contained nor evicted within 30s (host cpu some avg10 %.1f)",
			pidsMax, cpuMax, hostPSI("cpu", "some"))
	}
	evs := q.events()
	thr, ok := firstEvent(evs, bomb.ID, "throttle")
	if !ok {
		logEvents(t, q)
		t.Fatal("no throttle event on the fork bomb")
	}
	t.Logf("FIGURE e2e fork-bomb reaction onset→throttle %v (by quelld's event time %v; the test itself starves under the bomb); %s %v after the throttle",
		throttled.Sub(onset).Round(time.Millisecond), thr.Time.Sub(onset).Round(time.Millisecond), outcome, settled.Sub(throttled).Round(time.Millisecond))
	if ev, ok := firstEvent(evs, bomb.ID, "evict"); ok {
		t.Logf("FIGURE e2e fork-bomb evicted %v after onset (quelld's time): %s", ev.Time.Sub(onset).Round(time.Millisecond), ev.Reason)
	} else if outcome == "evicted" {
		t.Errorf("the fork bomb's cgroup emptied but no evict event names it")
	}
	for _, ev := range eventsFor(evs, quiet.ID) {
		if ev.Kind != "limit" {
			t.Errorf("the quiet sibling was acted on: %+v", ev)
		}
	}
	t.Logf("FIGURE e2e fork-bomb peak %d tasks; pids.events max=%s (forks refused); bomb used %.2f CPUs on average from onset to throttle",
		peak, pidsEventsMax(bomb.CgroupDir), used.Seconds()/throttled.Sub(onset).Seconds())
	t.Logf("FIGURE e2e fork-bomb throttle: pids.max %s, cpu.max %q; event: %s; after: %s", pidsMax, cpuMax, thr.Reason, thr.After)
	if !strings.Contains(thr.After, "pids.max ") {
		t.Errorf("throttle of a rank=pids rule did not cap pids.max: %s", thr.After)
	}
	if n, err := strconv.Atoi(pidsMax); err != nil || n > 256 || n <= 0 {
		t.Errorf("pids.max after the throttle = %q, want the bomb's task count (≤ its 256 cap)", pidsMax)
	}
}

func pidsEventsMax(dir string) string {
	return strings.TrimPrefix(labkit.ReadFile(filepath.Join(dir, "pids.events")), "max ")
}

const minerPolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[detector]]
name = "miner-names"
kind = "process-name"
names = ["xmrig", "xmr-stak*"]
action = "evict"
`

// TestQuelldEvictsProcessNamedXmrig: a process named xmrig (a shell script
// of that name, so its comm is "xmrig") appears in a container; the
// process-name detector evicts the container, and the event says which
// process matched which pattern. A sibling running sleep is left alone.
func TestQuelldEvictsProcessNamedXmrig(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, minerPolicy)
	quiet := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-quiet"})
	miner := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-job",
		Args: gatedArgs(`printf '#!/bin/sh\nwhile :; do sleep 1; done\n' > /tmp/xmrig; chmod +x /tmp/xmrig; exec /tmp/xmrig`)})
	time.Sleep(2 * time.Second) // discovered and classified
	release(t, miner)
	seen := watch(10*time.Second, func() bool {
		for _, pid := range procsOf(t, miner.CgroupDir) {
			if labkit.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)) == "xmrig" {
				return true
			}
		}
		return false
	})
	if seen.IsZero() {
		t.Fatalf("no process named xmrig appeared in the container (procs %v)", procsOf(t, miner.CgroupDir))
	}
	evicted := watch(20*time.Second, func() bool { return emptied(miner) })
	if evicted.IsZero() {
		logEvents(t, q)
		t.Fatal("container running xmrig not evicted within 20s")
	}
	evs := q.events()
	ev, ok := firstEvent(evs, miner.ID, "evict")
	if !ok {
		logEvents(t, q)
		t.Fatal("no evict event on the miner")
	}
	t.Logf("FIGURE e2e xmrig reaction process seen→evicted %v (event %v after seen); evidence: rule=%s reason=%q signals=%v",
		evicted.Sub(seen).Round(time.Millisecond), ev.Time.Sub(seen).Round(time.Millisecond), ev.Rule, ev.Reason, ev.Signals)
	if ev.Rule != "miner-names" || !strings.Contains(ev.Reason, `"xmrig"`) {
		t.Errorf("evict event lacks its evidence (detector, process): rule %q reason %q", ev.Rule, ev.Reason)
	}
	for _, e := range eventsFor(evs, quiet.ID) {
		if e.Kind != "limit" {
			t.Errorf("the quiet sibling was acted on: %+v", e)
		}
	}
	if emptied(quiet) {
		t.Error("the quiet sibling's tasks are gone")
	}
}
