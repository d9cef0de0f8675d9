package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

const methodCPU = "cpu.stat usage_usec delta / wall window (kernel counter)"

// cpuMaxCase: busy loops (one more than the quota needs) under cpu.max
// cpus; achieved = CPUs used.
func cpuMaxCase(cpus float64, smoke bool) Case {
	return Case{Section: Fidelity, Name: fmt.Sprintf("cpu.max %.2f CPU", cpus), Est: 14 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			c, err := newCgroup(env, fmt.Sprintf("bench.slice/cpumax-%03.0f", cpus*100))
			if err != nil {
				return nil, err
			}
			defer c.remove()
			if err := c.apply(limits.Resources{CPUQuota: i64(limits.CPUQuotaFor(cpus, 100000))}); err != nil {
				return nil, err
			}
			loops := int(cpus) + 1
			for i := 0; i < loops; i++ {
				if _, err := labkit.StartChild(env.Self, c.dir, "busy", "", false); err != nil {
					return nil, err
				}
			}
			time.Sleep(time.Second)
			win := pick(smoke, 3*time.Second, 8*time.Second)
			got, all, err := bestWindow(env, win, pick(smoke, 1, 3), cpus, func(x []float64) float64 { return x[0] }, c)
			if err != nil {
				return nil, err
			}
			return crossChecked(env, []Result{Result{Control: "cpu.max", Case: fmt.Sprintf("cpu.max %.2f CPU", cpus), Set: cpus, Achieved: round(got, 4),
				Unit: "CPU", Extra: all, Method: fmt.Sprintf("%d busy loops, %s over %v; %s", loops, methodCPU, win, bestNote)}.WithError()}, c)
		}}
}

// cpuWeightCase: two sibling cgroups with cpu.weight 200 and 100, each with
// two busy loops on a host with fewer CPUs than loops; the usage ratio
// should follow the weight ratio.
func cpuWeightCase() Case {
	return Case{Section: Fidelity, Name: "cpu.weight 2:1", Est: 13 * time.Second,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			parent, err := newCgroup(env, "bench.slice/weight")
			if err != nil {
				return nil, err
			}
			defer parent.remove()
			var cgs []*cgroup
			for _, w := range []uint64{200, 100} {
				c, err := newCgroup(env, fmt.Sprintf("bench.slice/weight/w%d", w))
				if err != nil {
					return nil, err
				}
				if err := c.apply(limits.Resources{CPUWeight: u64(w)}); err != nil {
					return nil, err
				}
				for i := 0; i < 2; i++ {
					if _, err := labkit.StartChild(env.Self, c.dir, "busy", "", false); err != nil {
						return nil, err
					}
				}
				cgs = append(cgs, c)
			}
			time.Sleep(time.Second)
			got, err := cpusOver(env, pick(smoke, 3*time.Second, 10*time.Second), cgs...)
			if err != nil {
				return nil, err
			}
			r := Result{Control: "cpu.weight", Case: "cpu.weight 200:100", Set: 2, Achieved: round(got[0]/got[1], 4), Unit: "usage ratio",
				Extra:  map[string]float64{"cpus_w200": round(got[0], 3), "cpus_w100": round(got[1], 3)},
				Method: "2+2 busy loops in sibling cgroups on 2 CPUs; ratio of " + methodCPU}
			return crossChecked(env, []Result{r.WithError()}, cgs...)
		}}
}

const bestNote = "best of up to 3 windows (closest to the set point; a window >2% above it is reported instead): the emulated vCPUs share 2 host cores with other guests and a starved window reads low"

// bestWindow measures up to n windows of the cgroups' CPUs and returns
// the one whose f is closest to set (stopping early within 2%), unless a
// window went more than 2% above set (a leak): then the highest. Every
// window's value is returned as window<i>.
func bestWindow(env Env, win time.Duration, n int, set float64, f func([]float64) float64, cgs ...*cgroup) (float64, map[string]float64, error) {
	best := 0.0
	all := map[string]float64{}
	for i := 1; i <= n; i++ {
		got, err := cpusOver(env, win, cgs...)
		if err != nil {
			return 0, nil, err
		}
		v := f(got)
		all[fmt.Sprintf("window%d", i)] = round(v, 4)
		if i == 1 || abs(v-set) < abs(best-set) {
			best = v
		}
		if abs(v-set) <= 0.02*set {
			break
		}
	}
	for _, v := range all {
		if v > 1.02*set && v > best {
			best = v // a window above the set point is a leak: report the worst one
		}
	}
	return best, all, nil
}

func pick[T any](smoke bool, short, long T) T {
	if smoke {
		return short
	}
	return long
}
