package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

const overheadPolicy = `
[[tenant]]
name = "synth"
  [tenant.match]
  cgroups = ["system.slice/docker-0c*.scope"]
  [tenant.container]
  pids = %d
`

// steadyAfter is when, after quelld's start, the overhead case's steady
// state is measured: past the first minute's look for runtime state that
// synthetic cgroups never get.
const steadyAfter = 75 * time.Second

// overheadCase: n synthetic Docker-style cgroups (empty) in real
// cgroupfs; quelld started with a per-container pids cap. Time to a full
// resync (start → every cgroup's pids.max written), idle CPU % and RSS
// over a window, CPU per cgroup per scan, and reconcile latency after a
// policy change (SIGHUP → every pids.max rewritten).
func overheadCase(n int, smoke bool) Case {
	return Case{Section: Overhead, Name: fmt.Sprintf("quelld with %d cgroups", n), Est: time.Duration(100+n/50) * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			parent := filepath.Join(env.CgroupRoot, "system.slice")
			if err := os.MkdirAll(parent, 0o755); err != nil {
				return nil, err
			}
			if err := labkit.EnableControllers(env.CgroupRoot); err != nil {
				return nil, err
			}
			if err := labkit.EnableControllers(parent); err != nil {
				return nil, err
			}
			var dirs []string
			defer func() {
				for _, d := range dirs {
					os.Remove(d)
				}
			}()
			made := 0
			var mkErr error
			for i := 0; i < n; i++ {
				d := filepath.Join(parent, "docker-"+labkit.HexID(fmt.Sprintf("0c%06x", i))+".scope")
				if err := os.Mkdir(d, 0o755); err != nil {
					mkErr = err
					break
				}
				dirs = append(dirs, d)
				made++
			}
			if made == 0 {
				return nil, mkErr
			}
			t0 := time.Now()
			q, err := startQuelld(env, fmt.Sprintf(overheadPolicy, 1000), "")
			if err != nil {
				return nil, err
			}
			defer q.stop()
			allAt := func(want string) bool {
				for i := len(dirs) - 1; i >= 0; i-- {
					if labkit.ReadFile(filepath.Join(dirs[i], "pids.max")) != want {
						return false
					}
				}
				return true
			}
			if !waitFor(10*time.Minute, 200*time.Millisecond, func() bool { return allAt("1000") }) {
				return nil, fmt.Errorf("not all %d cgroups limited within 10 min", made)
			}
			resync := time.Since(t0)
			win := pick(smoke, 3*time.Second, 20*time.Second)
			// The first minute: these cgroups have no runtime state, so
			// quelld keeps looking for it (every pass while they are young,
			// then less often); measured apart from the steady state, which
			// begins once that settles (metaEager, spans up to 30 s).
			e0, _, err := q.cpuTime(env.ProcRoot)
			if err != nil {
				return nil, err
			}
			ew0 := time.Now()
			time.Sleep(win)
			e1, _, err := q.cpuTime(env.ProcRoot)
			if err != nil {
				return nil, err
			}
			earlyPct := 100 * (e1 - e0).Seconds() / time.Since(ew0).Seconds()
			if !smoke {
				time.Sleep(time.Until(t0.Add(steadyAfter)))
			}
			l0, err := q.loop()
			if err != nil {
				return nil, err
			}
			c0, _, err := q.cpuTime(env.ProcRoot)
			if err != nil {
				return nil, err
			}
			w0 := time.Now()
			time.Sleep(win)
			c1, rss, err := q.cpuTime(env.ProcRoot)
			if err != nil {
				return nil, err
			}
			el := time.Since(w0)
			l1, err := q.loop()
			if err != nil {
				return nil, err
			}
			cpuPct := 100 * (c1 - c0).Seconds() / el.Seconds()
			floor, err := readFloor(dirs, pick(smoke, 3*time.Second, 10*time.Second))
			if err != nil {
				return nil, err
			}
			// Passes counted by quelld itself: when one takes longer than
			// the 1 s interval there are fewer than one per second.
			scans := float64(l1.Ticks - l0.Ticks)
			if scans < 1 {
				scans = 1
			}
			perCg := (c1 - c0).Seconds() / scans / float64(made) * 1e6
			// Policy change: every cgroup's cap changes.
			if err := q.SetPolicy(fmt.Sprintf(overheadPolicy, 2000)); err != nil {
				return nil, err
			}
			h0 := time.Now()
			if err := q.hup(); err != nil {
				return nil, err
			}
			var reconcile float64 = -1
			if waitFor(10*time.Minute, 100*time.Millisecond, func() bool { return allAt("2000") }) {
				reconcile = time.Since(h0).Seconds()
			}
			note := ""
			if made < n {
				note = fmt.Sprintf("only %d of %d cgroups could be made: %v", made, n, mkErr)
			}
			how := fmt.Sprintf("%d empty system.slice/docker-<hex>.scope dirs in real cgroupfs; quelld interval 1s", made)
			mk := func(name, unit string, v float64, m string) Result {
				return Result{Control: name, Case: fmt.Sprintf("%s @%d", name, made), Set: float64(made), Achieved: round(v, 3), Unit: unit,
					Extra: map[string]float64{"cgroups": float64(made)}, Method: how + "; " + m, Note: note}
			}
			cpuRow := mk("quelld CPU", "% of one CPU", cpuPct, fmt.Sprintf("/proc/PID/stat utime+stime over %v idle, from %v after start (steady state); woken_per_s: passes a PSI trigger woke, full_reads_per_pass: containers read beyond cpu.stat (quelld's own counts)", win, steadyAfter))
			cpuRow.Extra["woken_per_s"] = round(float64(l1.Woken-l0.Woken)/el.Seconds(), 3)
			cpuRow.Extra["full_reads_per_pass"] = round(float64(l1.FullReads-l0.FullReads)/scans, 1)
			return []Result{
				cpuRow,
				mk("quelld CPU, first minute", "% of one CPU", earlyPct, fmt.Sprintf("/proc/PID/stat utime+stime over %v right after every cgroup was limited (quelld still looking for their runtime state)", win)),
				mk("read floor", "% of one CPU", floor, "the bench itself reading one kept-open cpu.stat per cgroup each second (pread; one locked thread, its own CPU time; at most 2,000 files, scaled): the least any pass over them costs here"),
				mk("quelld RSS", "MiB", float64(rss)/(1<<20), "VmRSS after the window"),
				mk("cost per cgroup per scan", "µs CPU", perCg, "CPU over the window / quelld's own count of passes in it / cgroups"),
				mk("passes per second", "1/s", scans/el.Seconds(), fmt.Sprintf("quelld's pass count over the window (interval 1s; fewer when a pass takes longer; last pass took %v)", l1.LastDuration.Round(time.Millisecond))),
				mk("full resync", "s", resync.Seconds(), "quelld start → every pids.max written (polled 200 ms)"),
				mk("reconcile after SIGHUP", "s", reconcile, "policy pids cap 1000→2000, SIGHUP → every pids.max rewritten (polled 100 ms)"),
			}, nil
		}}
}
