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
// quelld's first write to the antagonist's cpu.max, on a rule on
// host.cpu.some.avg1 > 25% (for 0s). "psi-triggered": quelld's interval is
// 5 s and PSI triggers on /proc/pressure wake its loop, so the reaction
// shows the wake-up, not the poll. "polled": the default 1 s interval with
// the wake-ups turned off (pressure_wakeups = false).
func reactionCase(kind string, smoke bool) Case {
	signal, above := "host.cpu.some.avg1", 25.0
	config, how := "interval = \"5s\"\n", "quelld interval 5s, PSI triggers wake the loop"
	if kind == "polled" {
		config, how = "pressure_wakeups = false\n", "quelld interval 1s, PSI wake-ups off"
	}
	return Case{Section: Reaction, Name: "quelld " + kind + " (" + signal + ")", Est: 90 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			trials := pick(smoke, 1, 5)
			var ts []float64
			for i := 0; i < trials; i++ {
				if err := waitCalm(env, "cpu", 5, 60*time.Second); err != nil {
					return nil, err
				}
				d, err := reactOnce(env, reactionPolicy(signal, above), config, pick(smoke, 3*time.Second, 6*time.Second))
				if err != nil {
					return nil, fmt.Errorf("trial %d: %w", i+1, err)
				}
				ts = append(ts, d.Seconds())
			}
			return []Result{reactionResult("quelld "+kind, ts, fmt.Sprintf("rule %s > %g%% for 0s, %s; onset (antagonist start) → antagonist cpu.max written, polled every 20 ms", signal, above, how))}, nil
		}}
}

func reactionResult(name string, ts []float64, method string) Result {
	p50, p99 := labkit.Percentile(ts, 50), labkit.Percentile(ts, 99)
	ex := map[string]float64{"p50_s": round(p50, 2), "p99_s": round(p99, 2), "trials": float64(len(ts))}
	for i, t := range ts {
		ex["trial"+strconv.Itoa(i+1)+"_s"] = round(t, 2)
	}
	return Result{Control: "reaction", Case: name, Achieved: round(p99, 2), Unit: "s p99", Extra: ex, Method: method}
}

func reactOnce(env Env, policy, config string, idle time.Duration) (time.Duration, error) {
	q, err := startQuelld(env, policy, config)
	if err != nil {
		return 0, err
	}
	defer q.stop()
	a, err := newCgroup(env, "system.slice/docker-"+labkit.HexID("bad0")+".scope")
	if err != nil {
		return 0, err
	}
	defer a.remove()
	time.Sleep(idle) // let quelld see and classify it while idle
	orig := labkit.ReadFile(filepath.Join(a.dir, "cpu.max"))
	onset := time.Now()
	for i := 0; i < 3; i++ {
		if _, err := labkit.StartChild(env.Self, a.dir, "busy", "", false); err != nil {
			return 0, err
		}
	}
	if !waitFor(90*time.Second, 20*time.Millisecond, func() bool { return labkit.ReadFile(filepath.Join(a.dir, "cpu.max")) != orig }) {
		return 0, fmt.Errorf("no action within 90s: %s", labkit.Tail(labkit.ReadFile(q.Log), 3))
	}
	return time.Since(onset), nil
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
