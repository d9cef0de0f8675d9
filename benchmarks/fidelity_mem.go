package benchmarks

import (
	"context"
	"errors"
	"fmt"
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
// allocated: the largest memory.swap.current sampled every 20 ms vs the set.
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
			p, err := labkit.StartChild(env.Self, c.dir, "alloc", "72", false)
			if err != nil {
				return nil, err
			}
			var maxSwap uint64
			deadline := time.Now().Add(3 * time.Minute)
			for done := false; !done && time.Now().Before(deadline); {
				select {
				case _, ok := <-p.Lines:
					done = true
					_ = ok
				case <-time.After(20 * time.Millisecond):
				}
				if s, _ := c.stats(); s.SwapCurrent != nil {
					maxSwap = max(maxSwap, *s.SwapCurrent)
				}
			}
			return crossChecked(env, []Result{Result{Control: "memory.swap.max", Case: "memory.swap.max 16 MiB", Set: swapMiB, Achieved: round(float64(maxSwap)/(1<<20), 3),
				Unit: "MiB", Method: "72 MiB allocation under memory.max 32 MiB; max of memory.swap.current sampled every 20 ms"}.WithError()}, c)
		}}
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
