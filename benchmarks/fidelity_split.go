package benchmarks

import (
	"context"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

const splitPolicy = `
[[tenant]]
name = "ci"
  [tenant.match]
  cgroups = ["system.slice/docker-5b1*.scope"]
  [tenant.limits]
  cpus = 1.5
`

// splitCase: quelld splits a tenant's 1.5 CPUs among three busy
// Docker-style cgroups (matched by path); the tenant's total is measured.
func splitCase(smoke bool) Case {
	return Case{Section: Fidelity, Name: "tenant aggregate (split) 1.5 CPU", Est: 20 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			q, err := startQuelld(env, splitPolicy, "")
			if err != nil {
				return nil, err
			}
			defer q.stop()
			var cgs []*cgroup
			for i := 0; i < 3; i++ {
				c, err := newCgroup(env, "system.slice/docker-"+labkit.HexID("5b1")+".scope")
				if err != nil {
					return nil, err
				}
				defer c.remove()
				if _, err := labkit.StartChild(env.Self, c.dir, "busy", "", false); err != nil {
					return nil, err
				}
				cgs = append(cgs, c)
			}
			time.Sleep(pick(smoke, 3*time.Second, 5*time.Second))
			sum := func(x []float64) float64 { return x[0] + x[1] + x[2] }
			total, all, err := bestWindow(env, pick(smoke, 3*time.Second, 8*time.Second), pick(smoke, 1, 3), 1.5, sum, cgs...)
			if err != nil {
				return nil, err
			}
			return crossChecked(env, []Result{Result{Control: "tenant split", Case: "tenant cpus 1.5 over 3 containers", Set: 1.5, Achieved: round(total, 4), Unit: "CPU",
				Extra:  all,
				Method: "quelld split mode, 3 busy docker-*.scope cgroups; sum of " + methodCPU + "; " + bestNote}.WithError()}, cgs...)
		}}
}
