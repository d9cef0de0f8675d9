package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// memoryLowCase: a victim holding a 128 MiB working set under memory.low
// 128 MiB, an unprotected twin holding the same, and a hog churning
// through 512 MiB, all three inside a parent with memory.max 384 MiB (the
// "host": reclaim starts there). The victim's smallest memory.current
// over the churn, sampled every 20 ms, against memory.low; the twin shows
// the pressure reached the working sets.
//
// A parent's memory.max rather than the whole guest's RAM: reclaim from
// a limit protects the children of the limited cgroup by their own
// memory.low, whatever the mount options, and the case takes seconds
// instead of the minute it takes to churn through the guest's RAM under
// emulation. (Under global reclaim memory.low counts only as far as every
// ancestor also has memory.low, unless cgroup2 is mounted with
// memory_recursiveprot, as systemd does and the fast lab does not.)
// The working sets are touched once and then idle: the coldest pages on
// the LRU, the first the kernel would take without memory.low.
func memoryLowCase() Case {
	const parentMiB, wsMiB, hogMiB = 384, 128, 512
	name := fmt.Sprintf("memory.low %d MiB", wsMiB)
	return Case{Section: Fidelity, Name: name, Est: 30 * time.Second,
		Needs: func(e Env) string {
			if !e.Swap {
				return "swap is off: the hog would be OOM-killed instead of pressing on the victim"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			parent, err := newCgroup(env, "bench.slice/memlow")
			if err != nil {
				return nil, err
			}
			defer parent.remove()
			if err := parent.apply(limits.Resources{MemoryMax: i64(parentMiB << 20)}); err != nil {
				return nil, err
			}
			var cgs []*cgroup
			for _, n := range []string{"victim", "twin", "hog"} {
				c, err := newCgroup(env, "bench.slice/memlow/"+n)
				if err != nil {
					return nil, err
				}
				cgs = append(cgs, c)
			}
			victim, twin, hog := cgs[0], cgs[1], cgs[2]
			if err := victim.apply(limits.Resources{MemoryLow: i64(wsMiB << 20)}); err != nil {
				return nil, err
			}
			for _, c := range []*cgroup{victim, twin} {
				p, err := labkit.StartChild(env.Self, c.dir, "alloc", fmt.Sprint(wsMiB), false)
				if err != nil {
					return nil, err
				}
				if l, err := p.Line(time.Minute); err != nil || l != "ready" {
					return nil, fmt.Errorf("%s: working set not allocated (%q, %v)", c.rel, l, err)
				}
			}
			if _, err := labkit.StartChild(env.Self, hog.dir, "churn", fmt.Sprint(hogMiB), false); err != nil {
				return nil, err
			}
			// The churn window starts once the hog is past what the
			// parent leaves it (its excess is in swap) and lasts whole
			// passes over its 512 MiB.
			if !waitFor(time.Minute, 50*time.Millisecond, func() bool {
				s, err := readCgroupUint(hog.dir, "memory.swap.current")
				return err == nil && s >= (hogMiB-parentMiB+wsMiB)<<20
			}) {
				return nil, fmt.Errorf("the hog never pushed %d MiB into swap in 60 s: no pressure on the working sets", hogMiB-parentMiB+wsMiB)
			}
			vs := startSampler(20*time.Millisecond, func() (uint64, error) { return readCgroupUint(victim.dir, "memory.current") })
			ts := startSampler(20*time.Millisecond, func() (uint64, error) { return readCgroupUint(twin.dir, "memory.current") })
			time.Sleep(pick(smoke, 4*time.Second, 10*time.Second))
			vlo, _, vn, verr := vs.end()
			tlo, _, _, terr := ts.end()
			if err := errors.Join(verr, terr); err != nil {
				return nil, err
			}
			vst, _ := victim.stats()
			hst, _ := hog.stats()
			pst, _ := parent.stats()
			tst, _ := twin.stats()
			if vst.MemoryEvents == nil || pst.MemoryEvents == nil || hst.SwapCurrent == nil || tst.SwapCurrent == nil || vst.SwapCurrent == nil {
				return nil, errors.New("memory.events or memory.swap.current absent")
			}
			r := Result{Control: "memory.low", Case: name, Set: wsMiB, Achieved: mib(vlo), Unit: "MiB",
				ErrorPct: pct(lowShortfallPct(mib(vlo), wsMiB)),
				Extra: map[string]float64{"samples": float64(vn), "victim_low_events": float64(vst.MemoryEvents.Low),
					"victim_swap_mib": mib(*vst.SwapCurrent), "twin_min_mib": mib(tlo), "twin_swap_mib": mib(*tst.SwapCurrent),
					"hog_swap_mib": mib(*hst.SwapCurrent), "parent_max_events": float64(pst.MemoryEvents.Max)},
				Method: fmt.Sprintf("parent memory.max %d MiB; victim memory.low %d MiB and an unprotected twin, each %d MiB touched once then idle; a hog churning %d MiB, swap on; "+
					"the victim's smallest memory.current over %v of churn sampled every 20 ms; error%% is the shortfall below memory.low only (memory above it is not protected, not an error); "+
					"twin_min_mib: the twin's smallest memory.current, showing the pressure", parentMiB, wsMiB, wsMiB, hogMiB, pick(smoke, 4*time.Second, 10*time.Second))}
			return crossChecked(env, []Result{r}, victim, twin, hog)
		}}
}

// lowShortfallPct is memory.low's error: how far below the protection the
// protected cgroup was taken, in % (0 when it kept at least all of it).
func lowShortfallPct(achieved, set float64) float64 {
	if set <= 0 || achieved >= set {
		return 0
	}
	return round(100*(achieved-set)/set, 3)
}
