package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// cgroup is a throwaway cgroup below the root that the bench made and
// removes (killing what is left in it).
type cgroup struct {
	fs   *limits.FS
	rel  string
	dir  string
	made []string
}

// newCgroup creates rel below env.CgroupRoot (labkit.MakeCgroup: the
// available controllers enabled in each parent on the way).
func newCgroup(env Env, rel string) (*cgroup, error) {
	dir, made, err := labkit.MakeCgroup(env.CgroupRoot, rel)
	if err != nil {
		return nil, err
	}
	return &cgroup{fs: limits.NewFS(env.CgroupRoot), rel: rel, dir: dir, made: made}, nil
}

// remove kills everything in the cgroups the bench made and removes them,
// deepest first.
func (c *cgroup) remove() {
	for i := len(c.made) - 1; i >= 0; i-- {
		_ = labkit.RemoveCgroup(c.made[i])
	}
}

func (c *cgroup) apply(r limits.Resources) error {
	_, err := c.fs.Apply(context.Background(), c.rel, r.Writes())
	return err
}

func (c *cgroup) stats() (limits.Stats, error) { return c.fs.Stats(c.rel) }

func (c *cgroup) usage() (time.Duration, error) {
	s, err := c.stats()
	if err != nil && s.CPU == nil {
		return 0, err
	}
	if s.CPU == nil {
		return 0, fmt.Errorf("no cpu.stat in %s", c.rel)
	}
	return time.Duration(s.CPU.UsageUsec) * time.Microsecond, nil
}

// cpusOver is the CPUs each cgroup used over d, from cpu.stat usage_usec.
func cpusOver(env Env, d time.Duration, cgs ...*cgroup) ([]float64, error) {
	before := make([]time.Duration, len(cgs))
	for i, c := range cgs {
		u, err := c.usage()
		if err != nil {
			return nil, err
		}
		before[i] = u
	}
	t0 := env.now()
	time.Sleep(d)
	el := env.now().Sub(t0).Seconds()
	out := make([]float64, len(cgs))
	for i, c := range cgs {
		u, err := c.usage()
		if err != nil {
			return nil, err
		}
		out[i] = (u - before[i]).Seconds() / el
	}
	return out, nil
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
