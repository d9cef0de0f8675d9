package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// memoryHighCase: memory.high 64 MiB (memory.max unset) and a 192 MiB
// allocation, with swap: memory.high is a throttle, not a wall, so the
// kernel must reclaim the excess to swap while the allocator runs.
// memory.peak is the overshoot (memory.current sampled every 10 ms beside
// it: a sample misses the spikes between reclaims).
//
// With swap, because without it anonymous memory cannot be reclaimed:
// memory.high then only slows the allocator down (up to 2 s of penalty
// per return to user space) while memory.current grows past it without
// bound, and the case would measure the penalty, not the limit.
func memoryHighCase() Case {
	const setMiB, allocMiB = 64, 192
	name := fmt.Sprintf("memory.high %d MiB", setMiB)
	return Case{Section: Fidelity, Name: name, Est: 6 * time.Second,
		Needs: func(e Env) string {
			if !e.Swap {
				return "swap is off: memory.high could reclaim nothing of an anonymous allocation"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, _ bool) ([]Result, error) {
			c, err := newCgroup(env, "bench.slice/memhigh")
			if err != nil {
				return nil, err
			}
			defer c.remove()
			if err := c.apply(limits.Resources{MemoryHigh: i64(setMiB << 20), MemoryMax: i64(limits.Max), SwapMax: i64(limits.Max)}); err != nil {
				return nil, err
			}
			s := startSampler(10*time.Millisecond, func() (uint64, error) { return readCgroupUint(c.dir, "memory.current") })
			t0 := time.Now()
			p, err := labkit.StartChild(env.Self, c.dir, "alloc", fmt.Sprint(allocMiB), false)
			if err != nil {
				s.end()
				return nil, err
			}
			defer p.Kill()
			l, lerr := p.Line(2 * time.Minute)
			took := time.Since(t0)
			_, hi, n, serr := s.end()
			if lerr != nil || l != "ready" {
				return nil, fmt.Errorf("the %d MiB allocation under memory.high never finished (%q, %v): memory.high is not a wall, with swap it must", allocMiB, l, lerr)
			}
			if serr != nil {
				return nil, serr
			}
			st, _ := c.stats()
			if st.MemoryEvents == nil || st.SwapCurrent == nil || st.MemoryCurrent == nil || st.MemoryPeak == nil {
				return nil, errors.New("memory.events, memory.swap.current, memory.current or memory.peak absent")
			}
			if st.MemoryEvents.High == 0 {
				return nil, fmt.Errorf("memory.events high is 0 after %d MiB under memory.high %d MiB: the kernel never reclaimed for it", allocMiB, setMiB)
			}
			r := Result{Control: "memory.high", Case: name, Set: setMiB, Achieved: mib(*st.MemoryPeak), Unit: "MiB",
				Extra: map[string]float64{"sampled_max_mib": mib(hi), "samples": float64(n), "high_events": float64(st.MemoryEvents.High),
					"swap_mib_at_end": mib(*st.SwapCurrent), "current_mib_at_end": mib(*st.MemoryCurrent), "alloc_s": round(took.Seconds(), 2)},
				Method: fmt.Sprintf("%d MiB allocated and touched once under memory.high %d MiB, memory.max and memory.swap.max max, swap on, transparent hugepages %s; memory.peak (the kernel's own high-water mark of memory.current, which a sample can miss) once the allocation finished; sampled_max_mib: the largest memory.current sampled every 10 ms meanwhile", allocMiB, setMiB, thpMode())}
			return crossChecked(env, []Result{r.WithError()}, c)
		}}
}

// thpMode is the transparent hugepage mode in force ("always",
// "madvise", "never"), from /sys/kernel/mm/transparent_hugepage/enabled:
// a fault of a huge page charges 2 MiB at once, past memory.high before
// any reclaim.
func thpMode() string {
	s := labkit.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']'); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return "unknown"
}
