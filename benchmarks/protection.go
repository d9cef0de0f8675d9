package benchmarks

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// protectionPolicy: the victim's tenant is guaranteed (never a target),
// the antagonist's best-effort; one rule on a host PSI signal throttles
// the worst offender by the resource. The signal is the fastest quell has
// (the reaction cases' .recent, acted on in the pass a PSI trigger wakes):
// the victim's window starts at the antagonist's onset, so the reaction
// is part of the protection. (avg1 for 1 s until 2026-12-06.) The ladder
// tightens once more if the host still stalls and the victim's tenant with
// it after the engine's grace (10 s): a throttle fixed from the culprit's
// first rate can be too loose for the device or the memory it contends
// for (on 2026-12-06 one io step left the slow disk at 3.6 MB/s of
// writes, the victim at 17x, where the static 2 MiB/s kept it at 0.84x).
// Not a first step with for = "3s" to escalate sooner: its throttle ended
// at 3 s, the antagonist ran free until the next step 0.8 s later, and the
// CPU case went from 0.96x to 2.29x after the action.
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
when = { signal = "host.%[1]s.some.recent", above = 20.0, for = "0s" }
release = 5.0
target = { classes = ["best-effort", "burstable"], rank = "%[1]s" }
ladder = [{ action = "throttle", factor = 0.25, for = "300s" }, { action = "throttle", factor = 0.25, for = "300s" }]
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
			var catchUp time.Duration // the longest wait for the victim to catch up
			// Under emulation the victim's p99 drifts between windows minutes
			// apart, so each scenario is interleaved with the victim alone
			// (the antagonists stopped with SIGSTOP): 2 rounds of half a
			// window each way. The "alone" row pools every alone window.
			signalAll := func(sig syscall.Signal) {
				for _, p := range ants {
					_ = p.Cmd.Process.Signal(sig)
				}
			}
			startAnts := func() error {
				for i := 0; i < sc.antN; i++ {
					p, err := labkit.StartChild(env.Self, a.dir, sc.antMode, sc.antArg, false)
					if err != nil {
						return err
					}
					ants = append(ants, p)
				}
				return nil
			}
			measure := func(name, how string) {
				if sc.settle {
					time.Sleep(3 * time.Second)
				}
				if len(ants) == 0 || !sc.interleave {
					from := time.Now()
					time.Sleep(win)
					ws = append(ws, window{name: name, how: how, from: from, to: time.Now()})
					return
				}
				gap := sc.gap
				if gap == 0 {
					gap = 300 * time.Millisecond
				}
				for round := 0; round < 2; round++ {
					from := time.Now()
					time.Sleep(win / 2)
					ws = append(ws, window{name: name, how: how, from: from, to: time.Now()})
					signalAll(syscall.SIGSTOP)
					time.Sleep(gap)
					// The victim may still be working off requests the
					// antagonist held up (each counted from when it was due):
					// they are that scenario's, not the alone window's. In the
					// 2026-12-05 run they made the io "alone" p99 1,196 ms.
					t0 := time.Now()
					waitFor(30*time.Second, 50*time.Millisecond, func() bool {
						l, ok := labkit.LastLatency(vp.Out.String())
						return ok && l < caughtUpUs
					})
					catchUp = max(catchUp, time.Since(t0))
					from = time.Now()
					time.Sleep(win / 2)
					ws = append(ws, window{name: "alone", how: "victim alone (before the antagonists started, and interleaved with each scenario while they were stopped, each from when the victim had caught up: its last request under 10 ms)", from: from, to: time.Now()})
					signalAll(syscall.SIGCONT)
					time.Sleep(gap)
				}
			}
			measure("alone", "victim alone")
			if err := a.apply(sc.antSetup); err != nil {
				return nil, err
			}
			if err := startAnts(); err != nil {
				return nil, err
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
			// The onset: quelld runs first (as on a real host), then a
			// fresh antagonist starts with nothing but its runtime's
			// setup, and the victim's window starts there, so the
			// reaction counts against quell as the static limit's zero
			// reaction counts for it. (Until 2026-12-06 the onset was the
			// static limit lifted under the running antagonists; but an
			// io or memory antagonist held by its static limit still
			// stalls the host, quelld throttled it before the "onset",
			// the lift overwrote the throttle, and the 1.5-2.1 s measured
			// was quelld repairing that drift.)
			for _, p := range ants {
				p.Kill()
				_ = p.Wait()
			}
			ants = nil
			if err := a.apply(sc.lift); err != nil {
				return nil, err
			}
			orig := labkit.ReadFile(filepath.Join(a.dir, sc.file)) // the lifted value
			if err := waitCalm(env, resource, 5, 2*time.Minute); err != nil {
				return nil, fmt.Errorf("after the antagonists' end: %w", err)
			}
			waitFor(30*time.Second, 50*time.Millisecond, func() bool {
				l, ok := labkit.LastLatency(vp.Out.String())
				return ok && l < caughtUpUs
			})
			q, err := startQuelld(env, protectionPolicy(resource), "")
			if err != nil {
				return nil, err
			}
			defer q.stop()
			time.Sleep(2 * time.Second) // quelld's first passes (discovery)
			onset := time.Now()
			if err := startAnts(); err != nil {
				return nil, err
			}
			acted := waitFor(60*time.Second, 100*time.Millisecond, func() bool { return labkit.ReadFile(filepath.Join(a.dir, sc.file)) != orig })
			var actions []view.Event
			if acted {
				took := time.Since(onset).Seconds()
				how := fmt.Sprintf("quelld rule host.%s.some.recent>20%% for 0s → throttle ×0.25; from the antagonist's onset (started fresh under a running quelld), the %.1fs reaction included", resource, took)
				ws = append(ws, window{name: "quell rule", how: how, from: onset, to: time.Now(), reaction: true})
				measure("quell rule", how)
				actions = q.actions()
			}
			rs := protectionResults(resource, sc, vp.Out.String(), ws)
			for i := range rs {
				if rs[i].Case == resource+": alone" && sc.interleave {
					rs[i].Extra["catch_up_max_s"] = round(catchUp.Seconds(), 2)
				}
				if rs[i].Case == resource+": quell rule" && len(actions) > 0 {
					// quelld's own time of its first action: what the
					// file poll (every 100 ms) adds is not quelld's. What
					// each action wrote, and why, goes in the note.
					rs[i].Extra["first_action_after_onset_s"] = round(actions[0].Time.Sub(onset).Seconds(), 2)
					rs[i].Extra["actions"] = float64(len(actions))
					var what []string
					for _, ev := range actions {
						what = append(what, fmt.Sprintf("+%.2fs %s %s (%s)", ev.Time.Sub(onset).Seconds(), ev.Kind, ev.After, ev.Reason))
					}
					rs[i].Note = "quelld's actions: " + strings.Join(what, "; ")
				}
			}
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

// caughtUpUs: a victim whose last request took less than two of its 5 ms
// periods is no longer working off a backlog.
const caughtUpUs = 10_000

type window struct {
	name, how string
	from, to  time.Time
	// reaction: the span from the antagonist's onset to quelld's action.
	// It counts in its row (the reaction is part of the protection); the
	// row also says what the victim saw without it, after the action.
	reaction bool
}

// protectionResults pools the victim's latencies per scenario name, in
// the order the scenarios first ran.
func protectionResults(resource string, sc scenario, out string, ws []window) []Result {
	var order []string
	pooled := map[string][]float64{}
	after := map[string][]float64{} // the windows that are not a reaction
	span := map[string]time.Duration{}
	how := map[string]string{}
	for _, w := range ws {
		if _, ok := pooled[w.name]; !ok {
			order = append(order, w.name)
		}
		ls := labkit.Latencies(out, w.from, w.to)
		pooled[w.name] = append(pooled[w.name], ls...)
		if !w.reaction {
			after[w.name] = append(after[w.name], ls...)
		}
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
		extra := map[string]float64{"p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "p99_vs_alone": round(p99/base, 2), "throughput_ratio": round(thr, 3), "samples": float64(len(ls))}
		if a := after[name]; len(a) > 0 && len(a) < len(ls) {
			p := labkit.Percentile(a, 99) / 1000
			extra["p99_after_action_ms"], extra["after_action_vs_alone"] = round(p, 2), round(p/base, 2)
		}
		rs = append(rs, Result{Control: resource + " antagonist", Case: resource + ": " + name, Set: round(base, 2), Achieved: round(p99, 2), Unit: "ms p99",
			Extra: extra,
			Method: "victim request every 5 ms (" + sc.victimDesc + "), arrival→done latency; " + how[name] +
				"; throughput = requests done / 200 per s. Wall-clock under emulation: compare rows, not absolutes"})
	}
	return rs
}
