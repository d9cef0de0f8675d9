package benchmarks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quell-dev/quell/limits"
)

// cgroup is a throwaway cgroup below the root that the bench made and
// removes (killing what is left in it).
type cgroup struct {
	fs   *limits.FS
	rel  string
	dir  string
	made []string
}

// newCgroup creates rel below env.CgroupRoot, enabling the available
// controllers in each parent on the way.
func newCgroup(env Env, rel string) (*cgroup, error) {
	c := &cgroup{fs: limits.NewFS(env.CgroupRoot), rel: rel, dir: filepath.Join(env.CgroupRoot, rel)}
	dir := env.CgroupRoot
	for _, part := range strings.Split(rel, "/") {
		if err := enableControllers(dir); err != nil {
			return nil, err
		}
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err == nil {
			c.made = append(c.made, dir)
		} else if !errors.Is(err, fs.ErrExist) {
			c.remove()
			return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
	}
	return c, nil
}

func enableControllers(dir string) error {
	avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("read controllers of %s: %w", dir, err)
	}
	on, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	for _, c := range strings.Fields(string(avail)) {
		if strings.Contains(" "+string(on)+" ", " "+c+" ") {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			return fmt.Errorf("enable %s in %s: %w", c, dir, err)
		}
	}
	return nil
}

// remove kills everything in the cgroups the bench made and removes them,
// deepest first.
func (c *cgroup) remove() {
	for i := len(c.made) - 1; i >= 0; i-- {
		removeTree(c.made[i])
	}
}

func removeTree(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	deadline := time.Now().Add(10 * time.Second)
	for i := len(dirs) - 1; i >= 0; i-- {
		for os.Remove(dirs[i]) != nil && time.Now().Before(deadline) {
			if _, err := os.Stat(dirs[i]); err != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (c *cgroup) apply(r limits.Resources) error {
	_, err := c.fs.Apply(bg, c.rel, r.Writes())
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
func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}
