package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// memoryMaxCase: a 256 MiB allocation under memory.max 64 MiB, no swap:
// the OOM killer stops it; memory.peak vs memory.max.
func memoryMaxCase(smoke bool) Case {
	return Case{Section: Fidelity, Name: "memory.max 64 MiB", Est: 8 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, _ bool) ([]Result, error) {
			const limit = 64 << 20
			c, err := newCgroup(env, "bench.slice/memmax")
			if err != nil {
				return nil, err
			}
			defer c.remove()
			if err := c.apply(limits.Resources{MemoryMax: i64(limit), SwapMax: i64(0)}); err != nil {
				return nil, err
			}
			p, err := labkit.StartChild(env.Self, c.dir, "alloc", "256", false)
			if err != nil {
				return nil, err
			}
			if l, err := p.Line(2 * time.Minute); err == nil {
				return nil, fmt.Errorf("allocated 256 MiB under memory.max 64 MiB (%q)", l)
			}
			s, _ := c.stats()
			if s.MemoryPeak == nil || s.MemoryEvents == nil {
				return nil, errors.New("memory.peak or memory.events absent")
			}
			return crossChecked(env, []Result{Result{Control: "memory.max", Case: "memory.max 64 MiB", Set: 64, Achieved: round(float64(*s.MemoryPeak)/(1<<20), 3),
				Unit: "MiB", Extra: map[string]float64{"oom_kill": float64(s.MemoryEvents.OOMKill)},
				Method: "256 MiB allocation, swap 0; memory.peak vs memory.max (memory.events oom_kill)"}.WithError()}, c)
		}}
}

// swapMaxCase: memory.max 32 MiB + memory.swap.max 16 MiB, 72 MiB
// allocated by a task the OOM killer may not kill (oom_score_adj -1000):
// once memory and swap are full its page fault fails and is retried, so
// the cgroup stays at the limit, and memory.swap.current is read there,
// settled, instead of racing the kill. (The case sampled every 20 ms up to
// the OOM kill before: 15.2 of 16 MiB, -5.1%, was the last sample before
// the kill, not the limit; kernel 6.1 has no memory.swap.peak.)
func swapMaxCase() Case {
	return Case{Section: Fidelity, Name: "memory.swap.max 16 MiB", Est: 10 * time.Second,
		Needs: func(e Env) string {
			if !e.Swap {
				return "swap is off"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, _ bool) ([]Result, error) {
			const swapMiB = 16
			c, err := newCgroup(env, "bench.slice/swapmax")
			if err != nil {
				return nil, err
			}
			defer c.remove()
			if err := c.apply(limits.Resources{MemoryMax: i64(32 << 20), SwapMax: i64(swapMiB << 20)}); err != nil {
				return nil, err
			}
			p, err := startUnkillable(env, c.dir, "alloc", "72")
			if err != nil {
				return nil, err
			}
			defer p.Kill()
			var last, maxSwap, kills uint64
			steady := time.Now()
			full := waitFor(3*time.Minute, 20*time.Millisecond, func() bool {
				s, _ := c.stats()
				if s.SwapCurrent == nil {
					return false
				}
				if *s.SwapCurrent != last {
					last, steady = *s.SwapCurrent, time.Now()
				}
				maxSwap = max(maxSwap, last)
				kills = s.MemoryEvents.OOMKill
				return s.MemoryEvents.OOM > 0 && time.Since(steady) >= 500*time.Millisecond
			})
			if !full {
				return nil, fmt.Errorf("the cgroup never reached its memory and swap limits in 3 min (memory.swap.current %d B)", last)
			}
			if kills > 0 {
				return nil, fmt.Errorf("the OOM killer killed the allocating task (oom_kill %d) though its oom_score_adj was -1000: the swap figure would be a sample before a kill", kills)
			}
			return crossChecked(env, []Result{Result{Control: "memory.swap.max", Case: "memory.swap.max 16 MiB", Set: swapMiB, Achieved: round(float64(maxSwap)/(1<<20), 3),
				Unit: "MiB", Extra: map[string]float64{"settled_mib": round(float64(last)/(1<<20), 3), "oom_kill": float64(kills), "swap_events_max": float64(eventCount(labkit.ReadFile(c.dir+"/memory.swap.events"), "max"))},
				Method: "72 MiB allocation under memory.max 32 MiB by a task the OOM killer may not kill; the largest memory.swap.current (sampled every 20 ms) once memory.events oom > 0 and it held still 0.5 s"}.WithError()}, c)
		}}
}

// startUnkillable starts a child the OOM killer passes over: it inherits
// oom_score_adj -1000 from this process for the moment of the fork.
func startUnkillable(env Env, dir, mode, arg string) (*labkit.Child, error) {
	const adj = "/proc/self/oom_score_adj"
	old := strings.TrimSpace(labkit.ReadFile(adj))
	if old == "" {
		old = "0"
	}
	if err := os.WriteFile(adj, []byte("-1000"), 0); err != nil {
		return nil, fmt.Errorf("oom_score_adj: %w", err)
	}
	p, err := labkit.StartChild(env.Self, dir, mode, arg, false)
	if werr := os.WriteFile(adj, []byte(old), 0); werr != nil && err == nil {
		p.Kill()
		return nil, fmt.Errorf("oom_score_adj back to %s: %w", old, werr)
	}
	return p, err
}

// eventCount is key's count in a memory.events-style file ("key N" lines).
func eventCount(events, key string) int {
	for _, line := range strings.Split(events, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == key {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// pidsMaxCase: a fork loop under pids.max 24; pids.current when refused.
func pidsMaxCase() Case {
	return Case{Section: Fidelity, Name: "pids.max 24", Est: 4 * time.Second,
		Run: func(ctx context.Context, env Env, _ bool) ([]Result, error) {
			c, err := newCgroup(env, "bench.slice/pids")
			if err != nil {
				return nil, err
			}
			defer c.remove()
			if err := c.apply(limits.Resources{PidsMax: i64(24)}); err != nil {
				return nil, err
			}
			p, err := labkit.StartChild(env.Self, c.dir, "forkloop", "", false)
			if err != nil {
				return nil, err
			}
			l, err := p.Line(time.Minute)
			if err != nil {
				return nil, err
			}
			s, _ := c.stats()
			if s.PidsCurrent == nil {
				return nil, errors.New("pids.current absent")
			}
			var forks int
			if f := strings.Fields(l); len(f) > 1 && f[0] == "done" {
				forks, _ = strconv.Atoi(f[1])
			}
			return crossChecked(env, []Result{Result{Control: "pids.max", Case: "pids.max 24", Set: 24, Achieved: float64(*s.PidsCurrent), Unit: "pids",
				Extra:  map[string]float64{"forks_before_refusal": float64(forks)},
				Method: "fork loop until EAGAIN; pids.current"}.WithError()}, c)
		}}
}
