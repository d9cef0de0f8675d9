package enforcer

import (
	"errors"

	"github.com/quell-dev/quell/enforcer/discover"
	"github.com/quell-dev/quell/policies"
)

// discover rescans the cgroup tree: new containers are added (with their
// runtime metadata) and classified, vanished ones dropped (their originals
// forgotten: the cgroup and its files are gone with them).
func (e *Enforcer) discover(p *policies.Policy) int {
	found, err := discover.Walk(e.cfg.CgroupRoot, e.skip)
	errs := 0
	if err != nil {
		e.log.Warn("discover", "err", err)
		errs++
	}
	seen := make(map[string]bool, len(found))
	for _, f := range found {
		seen[f.Cgroup] = true
		t := e.known[f.Cgroup]
		if t == nil || t.c.MetaErr != "" {
			c := Container{ID: f.ID, Cgroup: f.Cgroup, Runtime: f.Runtime}
			m, err := e.cfg.Runtimes.ReadMeta(f)
			if err != nil {
				c.MetaErr = err.Error()
				if !errors.Is(err, discover.ErrNoState) {
					e.log.Warn("read container metadata", "cgroup", f.Cgroup, "err", err)
				}
			}
			c.Name, c.Labels, c.PID, c.Bundle = m.Name, m.Labels, m.PID, m.Bundle
			if t == nil {
				t = &tracked{}
				e.known[f.Cgroup] = t
				e.log.Info("container found", "cgroup", f.Cgroup, "runtime", f.Runtime, "name", c.Name)
			}
			t.c = c
		}
		classify(p, &t.c)
	}
	e.classifiedWith = p
	for cg := range e.known {
		if !seen[cg] {
			e.log.Info("container gone", "cgroup", cg)
			delete(e.known, cg)
			delete(e.applied, cg)
			e.store.Forget(cg)
		}
	}
	return errs
}

// skip keeps the walk out of quelld's own cgroup and quell's tenant slices
// (whose children are found as containers only when they are containers).
func (e *Enforcer) skip(rel string) bool {
	if rel == "init.scope" {
		return true
	}
	self := e.cfg.SelfCgroup
	return self != "" && rel == self
}
