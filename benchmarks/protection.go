package benchmarks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// protectionPolicy: the victim's tenant is guaranteed (never a target),
// the antagonist's best-effort; one rule on a host PSI signal throttles
// the worst offender by the resource.
func protectionPolicy(resource string) string {
	return fmt.Sprintf(`
[[tenant]]
name = "web"
class = "guaranteed"
  [tenant.match]
  cgroups = ["system.slice/docker-fee1*.scope"]

[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["system.slice/docker-bad0*.scope"]

[[rule]]
name = "%[1]s-contention"
when = { signal = "host.%[1]s.some.avg1", above = 20.0, for = "1s" }
release = 5.0
target = { classes = ["best-effort", "burstable"], rank = "%[1]s" }
ladder = [{ action = "throttle", factor = 0.25, for = "300s" }]
cooldown = "60s"
`, resource)
}

// protectionCase measures a latency-sensitive victim (a request every
// 5 ms) alone, next to an antagonist with no enforcement, with a static
// limit on the antagonist, and with quelld running the rule.
func protectionCase(resource string, smoke bool) Case {
	return Case{Section: Protection, Name: resource + " antagonist", Est: 60 * time.Second, Smoke: smoke,
		Needs: func(e Env) string {
			switch {
			case resource == "io" && e.Ext4 == "" && e.Slow == "":
				return "no scratch disk (QUELL_LAB_SLOW or QUELL_LAB_EXT4)"
			case resource == "memory" && !e.Swap:
				return "no swap: a memory antagonist would only be OOM-killed"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			win := pick(smoke, 2*time.Second, 8*time.Second)
			v, err := newCgroup(env, "system.slice/docker-"+labkit.HexID("fee1")+".scope")
			if err != nil {
				return nil, err
			}
			defer v.remove()
			a, err := newCgroup(env, "system.slice/docker-"+labkit.HexID("bad0")+".scope")
			if err != nil {
				return nil, err
			}
			defer a.remove()
			var sc scenario
			switch resource {
			case "io":
				sc, err = ioScenario(env, v.dir)
			case "memory":
				sc, err = memoryScenario(env)
			default:
				sc, err = cpuScenario()
			}
			if sc.cleanup != nil {
				defer sc.cleanup()
			}
			if err != nil {
				return nil, err
			}
			vp, err := labkit.StartChild(env.Self, v.dir, "victim", sc.victimArg, true)
			if err != nil {
				return nil, err
			}
			defer vp.Kill()
			// Warm up: the first seconds fault the binary in over 9p and
			// translate it (TCG); they are not the victim's steady state.
			time.Sleep(pick(smoke, 3*time.Second, 5*time.Second))
			var ws []window
			var ants []*labkit.Child
			// Under emulation the victim's p99 drifts between windows minutes
			// apart, so each scenario is interleaved with the victim alone
			// (the antagonists stopped with SIGSTOP): 2 rounds of half a
			// window each way. The "alone" row pools every alone window.
			signalAll := func(sig syscall.Signal) {
				for _, p := range ants {
					_ = p.Cmd.Process.Signal(sig)
				}
			}
			measure := func(name, how string) {
				if sc.settle {
					time.Sleep(3 * time.Second)
				}
				if len(ants) == 0 || !sc.interleave {
					from := time.Now()
					time.Sleep(win)
					ws = append(ws, window{name, how, from, time.Now()})
					return
				}
				gap := sc.gap
				if gap == 0 {
					gap = 300 * time.Millisecond
				}
				for round := 0; round < 2; round++ {
					from := time.Now()
					time.Sleep(win / 2)
					ws = append(ws, window{name, how, from, time.Now()})
					signalAll(syscall.SIGSTOP)
					time.Sleep(gap)
					from = time.Now()
					time.Sleep(win / 2)
					ws = append(ws, window{"alone", "victim alone (before the antagonists started, and interleaved with each scenario while they were stopped)", from, time.Now()})
					signalAll(syscall.SIGCONT)
					time.Sleep(gap)
				}
			}
			measure("alone", "victim alone")
			if err := a.apply(sc.antSetup); err != nil {
				return nil, err
			}
			for i := 0; i < sc.antN; i++ {
				p, err := labkit.StartChild(env.Self, a.dir, sc.antMode, sc.antArg, false)
				if err != nil {
					return nil, err
				}
				ants = append(ants, p)
			}
			defer func() {
				for _, p := range ants {
					p.Kill()
				}
			}()
			time.Sleep(time.Second)
			if sc.ready != nil && !waitFor(2*time.Minute, 500*time.Millisecond, func() bool { return sc.ready(a) }) {
				return nil, fmt.Errorf("the %s antagonist did not reach its size within 2 minutes", resource)
			}
			measure("no enforcement", sc.antDesc+", nothing enforced")
			if err := a.apply(sc.static); err != nil {
				return nil, err
			}
			time.Sleep(time.Second)
			measure("static limit", sc.staticDesc)
			// quelld runs first (as on a real host), then the static limit
			// is lifted: that is the antagonist's onset, and the victim's
			// window starts there, so the reaction time counts against
			// quell as the static limit's zero reaction counts for it.
			q, err := startQuelld(env, protectionPolicy(resource), "")
			if err != nil {
				return nil, err
			}
			defer q.stop()
			time.Sleep(2 * time.Second) // quelld's first passes (discovery)
			onset := time.Now()
			if err := a.apply(sc.lift); err != nil {
				return nil, err
			}
			orig := labkit.ReadFile(filepath.Join(a.dir, sc.file)) // the lifted value
			acted := waitFor(60*time.Second, 100*time.Millisecond, func() bool { return labkit.ReadFile(filepath.Join(a.dir, sc.file)) != orig })
			if acted {
				took := time.Since(onset).Seconds()
				how := fmt.Sprintf("quelld rule host.%s.some.avg1>20%% for 1s → throttle ×0.25; from the antagonist's onset (static limit lifted), the %.1fs reaction included", resource, took)
				ws = append(ws, window{"quell rule", how, onset, time.Now()})
				measure("quell rule", how)
			}
			rs := protectionResults(resource, sc, vp.Out.String(), ws)
			if !acted {
				alive := 0
				for _, p := range ants {
					if p.Cmd.Process.Signal(syscall.Signal(0)) == nil {
						alive++
					}
				}
				rs = append(rs, Result{Control: resource + " antagonist", Case: resource + ": quell rule",
					Err: fmt.Sprintf("quelld never acted on the antagonist within 60s (%d of %d antagonists alive; its memory.events: %s): %s",
						alive, len(ants), strings.Join(strings.Fields(labkit.ReadFile(filepath.Join(a.dir, "memory.events"))), " "), labkit.Tail(labkit.ReadFile(q.Log), 3))})
			}
			return rs, nil
		}}
}

type window struct {
	name, how string
	from, to  time.Time
}

// protectionResults pools the victim's latencies per scenario name, in
// the order the scenarios first ran.
func protectionResults(resource string, sc scenario, out string, ws []window) []Result {
	var order []string
	pooled := map[string][]float64{}
	span := map[string]time.Duration{}
	how := map[string]string{}
	for _, w := range ws {
		if _, ok := pooled[w.name]; !ok {
			order = append(order, w.name)
		}
		pooled[w.name] = append(pooled[w.name], labkit.Latencies(out, w.from, w.to)...)
		span[w.name] += w.to.Sub(w.from)
		how[w.name] = w.how
	}
	var rs []Result
	base := labkit.Percentile(pooled["alone"], 99) / 1000
	for _, name := range order {
		ls := pooled[name]
		if len(ls) == 0 {
			continue
		}
		p50, p99 := labkit.Percentile(ls, 50)/1000, labkit.Percentile(ls, 99)/1000
		thr := float64(len(ls)) / span[name].Seconds() / 200
		rs = append(rs, Result{Control: resource + " antagonist", Case: resource + ": " + name, Set: round(base, 2), Achieved: round(p99, 2), Unit: "ms p99",
			Extra: map[string]float64{"p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "p99_vs_alone": round(p99/base, 2), "throughput_ratio": round(thr, 3), "samples": float64(len(ls))},
			Method: "victim request every 5 ms (" + sc.victimDesc + "), arrival→done latency; " + how[name] +
				"; throughput = requests done / 200 per s. Wall-clock under emulation: compare rows, not absolutes"})
	}
	return rs
}
