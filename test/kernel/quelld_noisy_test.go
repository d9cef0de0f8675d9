//go:build lab

package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// The victim lives in a Docker-style cgroup made by hand (it is this test
// binary, which is not in any container image); it is classified by its
// cgroup path alone. The antagonist is a real runc container.
const noisyE2EPolicy = `
[[tenant]]
name = "web"
class = "guaranteed"
  [tenant.match]
  cgroups = ["system.slice/docker-fee1*.scope"]
  [tenant.limits]
  cpus = 1

[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "cpu-contention"
when = { signal = "host.cpu.some.avg1", above = 25.0, for = "1s" }
release = 10.0
target = { classes = ["best-effort", "burstable"], rank = "cpu" }
ladder = [{ action = "throttle", factor = 0.25, for = "120s" }, { action = "freeze", for = "30s" }, { action = "evict" }]
cooldown = "30s"
`

// TestQuelldCatchesCPUNoisyNeighbour: a latency-sensitive victim alone,
// then with a CPU antagonist in another tenant on an over-committed guest
// (2 vCPUs, 4 busy threads): quelld throttles the antagonist and the
// victim's p99 comes back near its solo value. A guaranteed tenant within
// its limits is never touched.
func TestQuelldCatchesCPUNoisyNeighbour(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, noisyE2EPolicy)
	vdir := labkit.NewCgroup(t, "system.slice/docker-"+labkit.HexID("fee1")+".scope")
	victim, err := labkit.StartChild(os.Args[0], vdir, "victim", "cpu", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Kill(); _ = victim.Wait() })
	vout := victim.Out

	// The baseline needs a quiet host: earlier tests (a memory hog, swap)
	// can leave the guest busy for a while.
	waitQuiet(t, 40*time.Second)
	time.Sleep(2 * time.Second)
	soloFrom := time.Now()
	time.Sleep(8 * time.Second)
	soloTo := time.Now()

	onset := time.Now()
	// --cpu-shares 262144 (cpu.weight 10000), as a container with a large
	// CPU request gets: at equal weights the scheduler alone keeps a victim
	// that needs 5% of a CPU within a tick or two of its solo p99, so the
	// test could tell a throttle from none only by a tick (it failed by
	// 5 ms on 1.5x + 4 ms in one make test run, passed by 0.6 ms in the
	// next). quelld's throttle sets cpu.weight 1 beside cpu.max.
	a := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-miner", Args: busyArgs(4), CPUShares: 262144})
	started := time.Now() // runc has started the antagonist's init
	var acted time.Time
	var throttle string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && acted.IsZero(); time.Sleep(100 * time.Millisecond) {
		if got := strings.TrimSpace(labkit.ReadFile(filepath.Join(a.CgroupDir, "cpu.max"))); got != "max 100000" {
			acted, throttle = time.Now(), got
		}
	}
	if acted.IsZero() {
		t.Fatalf("antagonist never throttled within 60s; events:\n%s", q.quell("events"))
	}
	time.Sleep(3 * time.Second) // let the throttle take hold

	// The victim's p99 under emulation moves by 2x between two identical
	// windows minutes apart (the 2 vCPUs share the host's cores), so one
	// solo window against one later window compares drift, not quell. The
	// comparison is interleaved instead: rounds of 4 s with the throttled
	// antagonist running, then 4 s with it stopped (SIGSTOP: the victim is
	// alone again; quelld's penalty runs on to its deadline regardless).
	// Each round is judged on its own pair of windows and the verdict is
	// the median round's: one host hiccup (a few hundred ms when the lab's
	// vCPUs lose the host's cores, which the victim then works off as a
	// backlog) lands in one window and once took the pooled p99 to 1.96x,
	// while an antagonist quell failed to hold would spoil every round.
	const rounds = 5
	var heldWins, aloneWins [][2]time.Time
	for round := 0; round < rounds; round++ {
		time.Sleep(500 * time.Millisecond)
		from := time.Now()
		time.Sleep(4 * time.Second)
		heldWins = append(heldWins, [2]time.Time{from, time.Now()})
		signalCgroup(t, a.CgroupDir, syscall.SIGSTOP)
		time.Sleep(500 * time.Millisecond)
		from = time.Now()
		time.Sleep(4 * time.Second)
		aloneWins = append(aloneWins, [2]time.Time{from, time.Now()})
		signalCgroup(t, a.CgroupDir, syscall.SIGCONT)
	}

	snap := vout.String()
	soloBefore := labkit.Latencies(snap, soloFrom, soloTo)
	solo := append([]float64(nil), soloBefore...)
	type round struct{ held, alone, ratio float64 }
	var held []float64
	var rs []round
	for i := range heldWins {
		h := labkit.Latencies(snap, heldWins[i][0], heldWins[i][1])
		s := labkit.Latencies(snap, aloneWins[i][0], aloneWins[i][1])
		held, solo = append(held, h...), append(solo, s...)
		r := round{held: labkit.Percentile(h, 99), alone: labkit.Percentile(s, 99)}
		r.ratio = r.held / r.alone
		t.Logf("FIGURE e2e noisy-cpu round %d: victim p99 with quell %.0fµs (n=%d), alone %.0fµs (n=%d), ratio %.2f", i+1, r.held, len(h), r.alone, len(s), r.ratio)
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ratio < rs[j].ratio })
	median := rs[len(rs)/2]
	contended := labkit.Latencies(snap, onset.Add(time.Second), acted)
	p99s, p99c, p99q := labkit.Percentile(solo, 99), labkit.Percentile(contended, 99), labkit.Percentile(held, 99)
	var reason string
	for _, ev := range q.events() {
		if ev.Kind == "throttle" && ev.Target == a.ID {
			reason = ev.Reason
			if !ev.Time.IsZero() {
				t.Logf("FIGURE e2e noisy-cpu event-time-after-onset %v", ev.Time.Sub(onset).Round(time.Millisecond))
			}
		}
		if strings.Contains(ev.Cgroup, "docker-fee1") && ev.Kind != "limit" {
			t.Errorf("the guaranteed victim (within its limits) was acted on: %+v", ev)
		}
	}
	t.Logf("FIGURE e2e noisy-cpu reaction %v from onset (%v after runc started it) → cpu.max changed to %q; why: %s",
		acted.Sub(onset).Round(time.Millisecond), acted.Sub(started).Round(time.Millisecond), throttle, reason)
	// The rule is on host.cpu.some.avg1 for 1s: ≤ 1 s to see the load, the
	// 1 s window, and 2 s of slack for emulation (a rule on the kernel's
	// avg10 took 4-4.5 s here: the average alone lags by ~3 s).
	if r := acted.Sub(started); r > 4*time.Second {
		t.Errorf("throttled %v after the antagonist started; want ≤ 1 s + the 1 s window (+ 2 s of emulation slack)", r)
	}
	t.Logf("FIGURE e2e noisy-cpu victim p99 solo=%.0fµs (n=%d; before onset alone %.0fµs) contended=%.0fµs (n=%d) with-quell=%.0fµs (n=%d) ratio=%.2f",
		p99s, len(solo), labkit.Percentile(soloBefore, 99), p99c, len(contended), p99q, len(held), p99q/p99s)
	t.Logf("FIGURE e2e noisy-cpu victim p50 solo=%.0fµs contended=%.0fµs with-quell=%.0fµs",
		labkit.Percentile(solo, 50), labkit.Percentile(contended, 50), labkit.Percentile(held, 50))
	if len(soloBefore) < 500 || len(held) < 1000 {
		t.Fatalf("too few victim samples (solo %d, with quell %d)", len(soloBefore), len(held))
	}
	// The antagonist must hurt before quell acts, or the test tells
	// nothing apart (at cpu.weight 10000 it took the victim's p99 to 47x
	// in the lab).
	if p99c < 3*p99s {
		t.Errorf("victim p99 before quell acted %.0fµs is under 3x its solo %.0fµs: the antagonist did not contend, so nothing here shows the throttle", p99c, p99s)
	}
	// The median round's p99 with quell within 2x of its alone window, or
	// within two scheduler ticks of it (8 ms at the Debian kernel's
	// HZ=250): cpu.max lets the throttled antagonist's 4 threads burst at
	// the start of every 100 ms period, and under emulation the victim
	// waits a tick or two there (round ratios 0.97-2.34, +3.4 ms at the
	// median, in the lab on 2026-12-06, against 47x unthrottled).
	t.Logf("FIGURE e2e noisy-cpu median round: with quell %.0fµs, alone %.0fµs, ratio %.2f", median.held, median.alone, median.ratio)
	if median.held > 2*median.alone && median.held-median.alone > 8000 {
		t.Errorf("victim p99 with quell %.0fµs is more than 2x (and two scheduler ticks over) its %.0fµs alone in the median of %d rounds", median.held, median.alone, rounds)
	}
	fmt.Fprintln(os.Stderr, q.quell("events"))
}

// signalCgroup sends sig to every process in the cgroup dir.
func signalCgroup(t *testing.T, dir string, sig syscall.Signal) {
	t.Helper()
	for _, f := range strings.Fields(labkit.ReadFile(filepath.Join(dir, "cgroup.procs"))) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s/cgroup.procs: %q: %v", dir, f, err)
		}
		if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
			t.Fatalf("kill -%v %d: %v", sig, pid, err)
		}
	}
}

// waitQuiet waits until host CPU, memory and io pressure (some avg10) are
// all under 5%, or for at most d (then it says so: the baseline is noisy).
func waitQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		quiet := true
		for _, r := range []string{"cpu", "memory", "io"} {
			f := strings.Fields(labkit.ReadFile("/proc/pressure/" + r))
			if len(f) < 2 {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimPrefix(f[1], "avg10="), 64)
			if err != nil || v >= 5 {
				quiet = false
			}
		}
		if quiet {
			t.Logf("host quiet after %v", time.Since(start).Round(100*time.Millisecond))
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("host still under pressure after %v: the solo baseline is noisy", d)
}
