package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// reactionPolicy: a rule on a host PSI signal (quelld's loop is woken by
// PSI triggers on /proc/pressure) or on a tenant signal (read at each
// poll), acting on the best-effort antagonist's tenant.
func reactionPolicy(signal string, above float64) string {
	return fmt.Sprintf(`
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["system.slice/docker-bad0*.scope"]

[[rule]]
name = "react"
when = { signal = %q, above = %g, for = "0s" }
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "throttle", factor = 0.5, for = "300s" }]
cooldown = "300s"
`, signal, above)
}

// reactionCase: trials of antagonist onset (3 busy loops on 2 CPUs) →
// quelld's first write to the antagonist's cpu.max, on a rule on a host CPU
// pressure signal above 25% (for 0s). "psi-triggered": quelld's interval
// is 5 s and PSI triggers on /proc/pressure wake its loop, so the reaction
// shows the wake-up, not the poll; the rule is on host.cpu.some.recent (the
// stall share since the host sample 200+ ms before, which is over 25% on
// the pass the trigger wakes; avg1 is not until ~1 s of the stall is in its
// window). "polled": the default 1 s interval with the wake-ups turned off
// (pressure_wakeups = false), on host.cpu.some.avg1.
//
// Each trial also arms the trigger quelld arms (some 150 ms in 1 s) on
// /proc/pressure/cpu itself, so the time splits into onset → trigger (the
// kernel's) and trigger → write (quelld's).
func reactionCase(kind string, smoke bool) Case {
	signal, above := "host.cpu.some.recent", 25.0
	config, how := "interval = \"5s\"\n", "quelld interval 5s, PSI triggers wake the loop"
	if kind == "polled" {
		signal = "host.cpu.some.avg1"
		config, how = "pressure_wakeups = false\n", "quelld interval 1s, PSI wake-ups off"
	}
	return Case{Section: Reaction, Name: "quelld " + kind + " (" + signal + ")", Est: 90 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			trials := pick(smoke, 1, 5)
			var ts, trig []float64
			for i := 0; i < trials; i++ {
				if err := waitCalm(env, "cpu", 5, 60*time.Second); err != nil {
					return nil, err
				}
				d, tr, err := reactOnce(env, reactionPolicy(signal, above), config, pick(smoke, 3*time.Second, 6*time.Second))
				if err != nil {
					return nil, fmt.Errorf("trial %d: %w", i+1, err)
				}
				ts = append(ts, d.Seconds())
				if tr > 0 {
					trig = append(trig, tr.Seconds())
				}
			}
			r := reactionResult("quelld "+kind, ts, fmt.Sprintf("rule %s > %g%% for 0s, %s; onset (antagonist start) → antagonist cpu.max written, polled every 20 ms", signal, above, how))
			addTriggerSplit(&r, ts, trig)
			return []Result{r}, nil
		}}
}

// addTriggerSplit adds onset → trigger and trigger → write to r, each
// trial and their p50/p99, when every trial saw its trigger fire.
func addTriggerSplit(r *Result, ts, trig []float64) {
	if len(trig) != len(ts) || len(ts) == 0 {
		return
	}
	var after []float64
	for i := range ts {
		after = append(after, 1000*(ts[i]-trig[i]))
		r.Extra["trigger"+strconv.Itoa(i+1)+"_s"] = round(trig[i], 2)
		r.Extra["trigger_to_write"+strconv.Itoa(i+1)+"_ms"] = round(after[i], 0)
	}
	r.Extra["trigger_p50_s"] = round(labkit.Percentile(trig, 50), 2)
	r.Extra["trigger_to_write_p50_ms"] = round(labkit.Percentile(after, 50), 0)
	r.Extra["trigger_to_write_p99_ms"] = round(labkit.Percentile(after, 99), 0)
	r.Method += "; trigger: the bench's own PSI trigger on the same file and line as quelld's"
}

func reactionResult(name string, ts []float64, method string) Result {
	p50, p99 := labkit.Percentile(ts, 50), labkit.Percentile(ts, 99)
	ex := map[string]float64{"p50_s": round(p50, 2), "p99_s": round(p99, 2), "trials": float64(len(ts))}
	for i, t := range ts {
		ex["trial"+strconv.Itoa(i+1)+"_s"] = round(t, 2)
	}
	return Result{Control: "reaction", Case: name, Achieved: round(p99, 2), Unit: "s p99", Extra: ex, Method: method}
}

// reactOnce returns onset → the antagonist's cpu.max written, and onset →
// the first firing of a trigger like quelld's on /proc/pressure/cpu (0
// when it could not be armed or did not fire first).
func reactOnce(env Env, policy, config string, idle time.Duration) (time.Duration, time.Duration, error) {
	q, err := startQuelld(env, policy, config)
	if err != nil {
		return 0, 0, err
	}
	defer q.stop()
	a, err := newCgroup(env, "system.slice/docker-"+labkit.HexID("bad0")+".scope")
	if err != nil {
		return 0, 0, err
	}
	defer a.remove()
	time.Sleep(idle) // let quelld see and classify it while idle
	orig := labkit.ReadFile(filepath.Join(a.dir, "cpu.max"))
	w := watchTrigger(filepath.Join(env.ProcRoot, "pressure", "cpu"), cpuTriggerLine)
	defer w.close()
	onset := time.Now()
	w.from(onset)
	for i := 0; i < 3; i++ {
		if _, err := labkit.StartChild(env.Self, a.dir, "busy", "", false); err != nil {
			return 0, 0, err
		}
	}
	return awaitWrite(filepath.Join(a.dir, "cpu.max"), orig, onset, w, q.Log)
}

// awaitWrite waits (90 s at most) until path no longer reads orig and
// returns the time from onset, and from onset to w's first trigger
// firing before it (0 when none did); the error carries log's last lines.
func awaitWrite(path, orig string, onset time.Time, w *triggerWatch, log string) (took, trig time.Duration, err error) {
	if !waitFor(90*time.Second, 20*time.Millisecond, func() bool { return labkit.ReadFile(path) != orig }) {
		return 0, 0, fmt.Errorf("no action within 90s: %s", labkit.Tail(labkit.ReadFile(log), 3))
	}
	took = time.Since(onset)
	if at, ok := w.first(); ok && at.Before(onset.Add(took)) {
		trig = at.Sub(onset)
	}
	return took, trig, nil
}

// waitCalm waits until /proc/pressure/<res> some avg10 is below limit.
func waitCalm(env Env, res string, limit float64, within time.Duration) error {
	var last float64
	if waitFor(within, 500*time.Millisecond, func() bool {
		last = hostAvg10(env, res)
		return last < limit
	}) {
		return nil
	}
	return fmt.Errorf("host %s pressure avg10 still %.1f after %v", res, last, within)
}

func hostAvg10(env Env, res string) float64 {
	b, _ := os.ReadFile(filepath.Join(env.ProcRoot, "pressure", res))
	for _, f := range strings.Fields(string(b)) {
		if strings.HasPrefix(f, "avg10=") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(f, "avg10="), 64)
			return v
		}
	}
	return 0
}
