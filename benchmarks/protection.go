package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quell-dev/quell/limits"
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
			if resource == "io" && e.Ext4 == "" {
				return "no scratch ext4 disk"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			win := pick(smoke, 2*time.Second, 8*time.Second)
			v, err := newCgroup(env, "system.slice/docker-"+hexID("fee1")+".scope")
			if err != nil {
				return nil, err
			}
			defer v.remove()
			a, err := newCgroup(env, "system.slice/docker-"+hexID("bad0")+".scope")
			if err != nil {
				return nil, err
			}
			defer a.remove()
			varg, amode, aarg := "cpu", "busy", ""
			var static limits.Resources
			staticDesc := "antagonist cpu.max 0.5 CPU (weight still 10000)"
			if resource == "io" {
				rfile := filepath.Join(env.Ext4, "bench-victim")
				wfile := filepath.Join(env.Ext4, "bench-antagonist")
				defer os.Remove(rfile)
				defer os.Remove(wfile)
				if err := runHelper(env, v.dir, "dio", fmt.Sprintf("w %d %s 16", 1<<20, rfile)); err != nil {
					return nil, err
				}
				varg, amode, aarg = "io "+rfile, "dioloop", wfile
				ma, mi, err := limits.DeviceNumber(env.Ext4Dev)
				if err == nil {
					ma, mi, err = limits.WholeDisk("/sys", ma, mi)
				}
				if err != nil {
					return nil, err
				}
				static = limits.Resources{IOMax: []limits.IOMax{{Major: ma, Minor: mi, WBPS: 2 << 20}}}
				staticDesc = "antagonist io.max wbps 2 MiB/s"
			} else {
				static = limits.Resources{CPUQuota: i64(50000)}
			}
			vp, err := startIn(env, v.dir, "victim", varg, true)
			if err != nil {
				return nil, err
			}
			defer vp.kill()
			// Warm up: the first seconds fault the binary in over 9p and
			// translate it (TCG); they are not the victim's steady state.
			time.Sleep(pick(smoke, 3*time.Second, 5*time.Second))
			type window struct {
				name, how string
				from, to  time.Time
			}
			var ws []window
			var ants []*proc
			// Under emulation the victim's p99 drifts between windows minutes
			// apart, so each scenario is interleaved with the victim alone
			// (the antagonists stopped with SIGSTOP): 2 rounds of half a
			// window each way. The "alone" row pools every alone window.
			signalAll := func(sig syscall.Signal) {
				for _, p := range ants {
					_ = p.cmd.Process.Signal(sig)
				}
			}
			measure := func(name, how string) {
				if len(ants) == 0 {
					from := time.Now()
					time.Sleep(win)
					ws = append(ws, window{name, how, from, time.Now()})
					return
				}
				for round := 0; round < 2; round++ {
					from := time.Now()
					time.Sleep(win / 2)
					ws = append(ws, window{name, how, from, time.Now()})
					signalAll(syscall.SIGSTOP)
					time.Sleep(300 * time.Millisecond)
					from = time.Now()
					time.Sleep(win / 2)
					ws = append(ws, window{"alone", "victim alone (before the antagonists started, and interleaved with each scenario while they were stopped)", from, time.Now()})
					signalAll(syscall.SIGCONT)
					time.Sleep(300 * time.Millisecond)
				}
			}
			measure("alone", "victim alone")
			// io: 4 writers keep the device's queue full. cpu: 3 busy loops
			// over-commit the 2 vCPUs, from a cgroup with cpu.weight 10000
			// (as a container with a large CPU request or --cpu-shares gets):
			// at equal weights the scheduler alone shields a victim that
			// needs 5% of a CPU, and there would be nothing to measure.
			nAnt, antDesc := 4, "4 O_DIRECT 1 MiB writers"
			if resource == "cpu" {
				nAnt, antDesc = 3, "3 busy loops at cpu.weight 10000"
				if err := a.apply(limits.Resources{CPUWeight: u64(10000)}); err != nil {
					return nil, err
				}
			}
			for i := 0; i < nAnt; i++ {
				p, err := startIn(env, a.dir, amode, aarg, false)
				if err != nil {
					return nil, err
				}
				ants = append(ants, p)
			}
			defer func() {
				for _, p := range ants {
					p.kill()
				}
			}()
			time.Sleep(time.Second)
			measure("no enforcement", antDesc+", nothing enforced")
			if err := a.apply(static); err != nil {
				return nil, err
			}
			time.Sleep(time.Second)
			measure("static limit", staticDesc)
			// Lift the static limit; quelld's rule must find the antagonist.
			lift := limits.Resources{CPUQuota: i64(limits.Max)}
			if resource == "io" {
				m := static.IOMax[0]
				lift = limits.Resources{IOMax: []limits.IOMax{{Major: m.Major, Minor: m.Minor}}}
			}
			if err := a.apply(lift); err != nil {
				return nil, err
			}
			q, err := startQuelld(env, protectionPolicy(resource), "")
			if err != nil {
				return nil, err
			}
			defer q.stop()
			file := map[string]string{"cpu": "cpu.max", "io": "io.max"}[resource]
			orig := readTrim(filepath.Join(a.dir, file))
			onset := time.Now()
			acted := waitFor(60*time.Second, 100*time.Millisecond, func() bool { return readTrim(filepath.Join(a.dir, file)) != orig })
			if acted {
				time.Sleep(2 * time.Second)
				measure("quell rule", fmt.Sprintf("quelld rule host.%s.some.avg1>20%% for 1s → throttle ×0.25 (acted %.1fs after start)", resource, time.Since(onset).Seconds()-2))
			}
			out := vp.out.String()
			var order []string
			pooled := map[string][]float64{}
			span := map[string]time.Duration{}
			how := map[string]string{}
			for _, w := range ws {
				if _, ok := pooled[w.name]; !ok {
					order = append(order, w.name)
				}
				pooled[w.name] = append(pooled[w.name], latencies(out, w.from, w.to)...)
				span[w.name] += w.to.Sub(w.from)
				how[w.name] = w.how
			}
			var rs []Result
			base := percentile(pooled["alone"], 99) / 1000
			for _, name := range order {
				ls := pooled[name]
				if len(ls) == 0 {
					continue
				}
				p50, p99 := percentile(ls, 50)/1000, percentile(ls, 99)/1000
				thr := float64(len(ls)) / span[name].Seconds() / 200
				rs = append(rs, Result{Control: resource + " antagonist", Case: resource + ": " + name, Set: round(base, 2), Achieved: round(p99, 2), Unit: "ms p99",
					Extra: map[string]float64{"p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "p99_vs_alone": round(p99/base, 2), "throughput_ratio": round(thr, 3), "samples": float64(len(ls))},
					Method: "victim request every 5 ms (fixed CPU work" + map[bool]string{true: " + 4 KiB O_DIRECT read", false: ""}[resource == "io"] + "), arrival→done latency; " + how[name] +
						"; throughput = requests done / 200 per s. Wall-clock under emulation: compare rows, not absolutes"})
			}
			if !acted {
				rs = append(rs, Result{Control: resource + " antagonist", Case: resource + ": quell rule", Err: "quelld never acted on the antagonist within 60s: " + tailOf(readTrim(q.log), 3)})
			}
			return rs, nil
		}}
}

func latencies(out string, from, to time.Time) []float64 {
	var ls []float64
	for _, line := range strings.Split(out, "\n") {
		var at int64
		var l float64
		if n, _ := fmt.Sscanf(line, "%d %g", &at, &l); n != 2 {
			continue
		}
		if ts := time.UnixMicro(at); ts.After(from) && ts.Before(to) {
			ls = append(ls, l)
		}
	}
	return ls
}
