//go:build lab

package kernel

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// The victim ("web", guaranteed, memory_low protecting its working set) and
// the hog ("batch", best-effort) are this test binary in Docker-style
// cgroups made by hand, classified by cgroup path.
const memNoisyPolicy = `
[[tenant]]
name = "web"
class = "guaranteed"
  [tenant.match]
  cgroups = ["system.slice/docker-fee1*.scope"]
  [tenant.limits]
  memory = "256MiB"
  memory_low = "128MiB"

[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["system.slice/docker-bad1*.scope"]

[[rule]]
name = "memory-pressure"
when = { signal = "host.memory.some.avg10", above = 10.0, for = "1s" }
release = 2.0
target = { classes = ["best-effort", "burstable"], rank = "memory" }
ladder = [{ action = "throttle", factor = 0.5, for = "5s" }, { action = "evict" }]
cooldown = "10s"
`

// TestQuelldMemoryHogThrottledThenEvicted: a best-effort hog allocates past
// the guest's RAM into swap and thrashes; host memory pressure rises;
// quelld throttles it via memory.high = ½ × its usage (which bites: the
// kernel counts memory.high events), the pressure persists, and quelld
// evicts it (cgroup.kill). The guaranteed victim is never acted on and
// never OOM-killed.
func TestQuelldMemoryHogThrottledThenEvicted(t *testing.T) {
	labkit.Require(t)
	// A rule on host pressure must start from a quiet host: what earlier
	// tests left running would otherwise be blamed on this one's containers.
	waitQuiet(t, 40*time.Second)
	q := startQuelld(t, memNoisyPolicy)
	vdir := labkit.NewCgroup(t, "system.slice/docker-"+labkit.HexID("fee1")+".scope")
	hdir := labkit.NewCgroup(t, "system.slice/docker-"+labkit.HexID("bad1")+".scope")
	hogID := idOfCgroup(hdir)
	victim := startChild(t, vdir, "memvictim")
	waitFile(t, filepath.Join(vdir, "memory.max"), strconv.Itoa(256<<20), 10*time.Second)
	time.Sleep(2 * time.Second)
	soloFrom := time.Now()
	time.Sleep(3 * time.Second)
	soloTo := time.Now()

	// quelld locks its pages (lock_memory, default on) so that the swap
	// storm it must stop does not stall it too.
	lck, rss := q.Status("VmLck"), q.Status("VmRSS")
	t.Logf("FIGURE e2e noisy-mem quelld VmLck=%s VmRSS=%s before the hog", lck, rss)
	if lck == "" || strings.HasPrefix(lck, "0 ") {
		t.Errorf("quelld VmLck = %q, want its pages locked (lock_memory)", lck)
	}
	avail, swap := meminfo("MemAvailable"), meminfo("SwapFree")
	hogMiB := avail>>20 + min(swap>>20/2, 128)
	t.Logf("FIGURE e2e noisy-mem guest MemTotal=%dMiB MemAvailable=%dMiB SwapFree=%dMiB hog=%dMiB",
		meminfo("MemTotal")>>20, avail>>20, swap>>20, hogMiB)
	psi := watchPSI(t, "memory", 10)
	onset := time.Now()
	hog := startChild(t, hdir, "memhog", "QUELL_KTEST_HOG_MIB="+strconv.FormatInt(hogMiB, 10))

	// quelld's events and the kernel's counters are the record. The test's
	// own 50 ms poll (the test is not memory-locked like quelld) can stall
	// for seconds in the swap storm and miss a 5 s throttle entirely; it
	// only reports what it saw.
	var seen time.Time
	var usageAt int64
	exited := watch(100*time.Second, func() bool {
		if h := labkit.ReadFile(filepath.Join(hdir, "memory.high")); seen.IsZero() && h != "max" && h != "" {
			seen = time.Now()
			usageAt, _ = strconv.ParseInt(labkit.ReadFile(filepath.Join(hdir, "memory.current")), 10, 64)
		}
		return hog.exited()
	})
	evs := q.events()
	if exited.IsZero() {
		logEvents(t, q)
		t.Fatalf("the hog still runs 100s after it started")
	}
	crossed := psi.time()
	thr, ok := firstEvent(evs, hogID, "throttle")
	if !ok {
		logEvents(t, q)
		t.Fatalf("the hog died (%v; output %s) but was never throttled", hog.err, labkit.Tail(hog.out.String(), 3))
	}
	ev, ok := firstEvent(evs, hogID, "evict")
	if !ok {
		logEvents(t, q)
		t.Fatalf("the hog died (%v) but no evict event names it: the kernel's OOM killer came first", hog.err)
	}
	if !ev.Time.After(thr.Time) {
		t.Errorf("evicted at %v, not after the throttle at %v", ev.Time, thr.Time)
	}
	// memory.high stays "max" unless quelld's throttle sets it, so any
	// "high" event in memory.events is the throttle biting.
	highEvents := memEvent(hdir, "high")
	noActionOn(t, evs, "docker-fee1")
	var h int64
	if _, v, ok := strings.Cut(thr.After, "memory.high "); ok {
		h, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
	}
	want := float64(thr.Signals["use"]) * 0.5
	t.Logf("FIGURE e2e noisy-mem throttle event: %s (before: use %.0f MiB); after: %s", thr.Reason, thr.Signals["use"]/(1<<20), thr.After)
	t.Logf("FIGURE e2e noisy-mem memory.high=%d (%.0f MiB); the test's poll saw it %s (memory.current then %.0f MiB); memory.events high %d",
		h, float64(h)/(1<<20), sinceOrNA(thr.Time, seen)+" after quelld wrote it", float64(usageAt)/(1<<20), highEvents)
	if want <= 0 || float64(h) < want*0.99 || float64(h) > want*1.01 {
		t.Errorf("memory.high = %d (event after: %q), want ½ × the usage quell saw (%.0f)", h, thr.After, want)
	}
	if highEvents <= 0 {
		t.Errorf("memory.high never bit: memory.events high = %d", highEvents)
	}
	t.Logf("FIGURE e2e noisy-mem reaction hog-start→throttle %v, psi(avg10>10)→throttle %v, throttle→evict %v (evict: %s)",
		thr.Time.Sub(onset).Round(time.Millisecond), sinceOrNA(crossed, thr.Time), ev.Time.Sub(thr.Time).Round(time.Millisecond), ev.Reason)
	// Target: one 1 s interval + the rule's 1 s window. quelld itself runs
	// in the thrashing guest here (emulated CPU): allow 2 s of slack.
	if !crossed.IsZero() && thr.Time.Sub(crossed) > 4*time.Second {
		t.Errorf("throttled %v after host memory pressure crossed the threshold; want ≤ 1s + the 1s window (+ 2s of slack under emulation)", thr.Time.Sub(crossed))
	}
	evicted := ev.Time

	// What quelld says about its own passes under the swap storm.
	for _, line := range strings.Split(labkit.ReadFile(q.Log), "\n") {
		if strings.Contains(line, "slow ") || strings.Contains(line, "late pass") {
			t.Logf("FIGURE e2e noisy-mem quelld %s", line)
		}
		// Halving the hog's memory.high makes the kernel reclaim ~600 MiB
		// inside the write; quelld must not wait for it (it once stood
		// still for 6.9 s there, watching nothing).
		if strings.Contains(line, "slow action") && strings.Contains(line, "kind=throttle") {
			t.Errorf("quelld waited for the kernel's reclaim: %s", line)
		}
	}
	t.Logf("FIGURE e2e noisy-mem quelld VmRSS=%s after", q.Status("VmRSS"))

	// The victim: alive, never OOM-killed, its sweeps measured.
	if victim.exited() {
		t.Fatalf("the victim died: %v", victim.err)
	}
	if k := memEvent(vdir, "oom_kill"); k != 0 {
		t.Errorf("victim memory.events oom_kill = %d, want 0", k)
	}
	out := victim.out.String()
	solo, hit := labkit.Latencies(out, soloFrom, soloTo), labkit.Latencies(out, onset, evicted)
	t.Logf("FIGURE e2e noisy-mem victim 64MiB sweep p99 solo=%.0fµs (n=%d) under the hog until eviction=%.0fµs (n=%d) max=%.0fµs; oom_kill=%d",
		labkit.Percentile(solo, 99), len(solo), labkit.Percentile(hit, 99), len(hit), labkit.Percentile(hit, 100), memEvent(vdir, "oom_kill"))
	if strings.Contains(out, "mmap:") {
		t.Errorf("victim: %s", out)
	}
}

func sinceOrNA(from, to time.Time) string {
	if from.IsZero() {
		return "n/a (not seen by the test's 50ms poll)"
	}
	return to.Sub(from).Round(time.Millisecond).String()
}
