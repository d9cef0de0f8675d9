package enforcer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-dev/quell/enforcer/discover"
	"github.com/quell-dev/quell/enforcer/view"
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
		if t == nil {
			t = &tracked{found: f, foundAt: e.clock.Now()}
			e.known[f.Cgroup] = t
			e.readMeta(t)
			e.log.Info("container found", "cgroup", f.Cgroup, "runtime", f.Runtime, "name", t.c.Name)
		} else if t.c.MetaErr != "" {
			e.readMeta(t)
		}
		classify(p, &t.c)
	}
	e.classifiedWith = p
	for cg := range e.known {
		// After a failed walk a container not seen may just be in a
		// directory that could not be listed: only a cgroup whose directory
		// is really gone is dropped (and its originals forgotten).
		if !seen[cg] && (err == nil || e.cgroupGone(cg)) {
			e.log.Info("container gone", "cgroup", cg)
			delete(e.known, cg)
			delete(e.applied, cg)
			e.store.Forget(cg)
		}
	}
	return errs
}

// readMeta (re)reads t's runtime metadata, keeping the tenant decision to
// the caller.
func (e *Enforcer) readMeta(t *tracked) {
	f := t.found
	c := view.Container{ID: f.ID, Cgroup: f.Cgroup, Runtime: f.Runtime}
	m, err := e.cfg.Runtimes.ReadMeta(f)
	if err != nil {
		c.MetaErr = err.Error()
		if !errors.Is(err, discover.ErrNoState) && !errors.Is(err, discover.ErrIncomplete) {
			e.log.Warn("read container metadata", "cgroup", f.Cgroup, "err", err)
		}
	}
	c.Name, c.Labels, c.TrustedLabels, c.PID, c.Bundle = m.Name, m.Labels, m.Trusted, m.PID, m.Bundle
	t.c = c
}

// metaRetryWindow is how long after discovery a container whose metadata
// was missing or incomplete is re-read every tick (runtimes write their
// state around the moment the cgroup appears); after it, every resync.
const metaRetryWindow = time.Minute

// retryMeta re-reads the metadata of young containers that lacked it and
// re-classifies them, so a container is under its tenant's limits within
// one interval even when quelld saw its cgroup before its runtime state.
func (e *Enforcer) retryMeta(p *policies.Policy, now time.Time) {
	for _, t := range e.known {
		if t.c.MetaErr == "" || now.Sub(t.foundAt) > metaRetryWindow {
			continue
		}
		e.readMeta(t)
		classify(p, &t.c)
	}
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

// cgroupGone reports whether cg's directory no longer exists.
func (e *Enforcer) cgroupGone(cg string) bool {
	_, err := os.Stat(filepath.Join(e.cfg.CgroupRoot, cg))
	return errors.Is(err, fs.ErrNotExist)
}
