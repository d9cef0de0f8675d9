package enforcer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/quell-dev/quell/enforcer/discover"
)

// WatchCgroups watches the cgroup tree with inotify (one instance) and asks
// for a rescan when a cgroup appears or vanishes, so a new container is
// under its limits within one interval instead of one resync. Container
// cgroups themselves are not watched (their insides are theirs); the
// slices above them are, to the discovery depth. It returns when ctx ends.
func (e *Enforcer) WatchCgroups(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	add := func(dir string) { _ = w.Add(dir) }
	// A delegated subtree (a user's user@UID.service) holds no container
	// (see discover.Walk): its owner's mkdirs need not wake the loop.
	owner, err := discover.RootOwner(e.cfg.CgroupRoot)
	if err != nil {
		return err
	}
	delegated := func(dir string) bool {
		fi, err := os.Lstat(dir)
		return err != nil || discover.Delegated(fi, owner)
	}
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		add(dir)
		if depth >= 6 {
			return
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, ent := range ents {
			if !ent.IsDir() {
				continue
			}
			rel, _ := filepath.Rel(e.cfg.CgroupRoot, filepath.Join(dir, ent.Name()))
			if _, isContainer := discover.Classify(rel); isContainer || e.skip(rel) || delegated(filepath.Join(dir, ent.Name())) {
				continue
			}
			walk(filepath.Join(dir, ent.Name()), depth+1)
		}
	}
	walk(e.cfg.CgroupRoot, 0)
	// A cgroup made after the loop's first walk but before its parent's
	// watch was added raised no event: look again now that every watch is
	// in place (the lab's make test once made 3 containers right after
	// quelld started, and the loop found none of them in 3 s).
	e.RequestRescan()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op&(fsnotify.Create|fsnotify.Remove) == 0 {
				continue
			}
			if ev.Op&fsnotify.Create != 0 {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
					if discover.Delegated(fi, owner) {
						continue
					}
					rel, _ := filepath.Rel(e.cfg.CgroupRoot, ev.Name)
					if _, isContainer := discover.Classify(rel); !isContainer {
						walk(ev.Name, strings.Count(rel, "/")+1)
					}
				}
			}
			e.RequestRescan()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			e.log.Warn("cgroup watch", "err", err)
			e.RequestRescan()
		}
	}
}

// WatchPolicy reloads the policy when a file in a policy dir changes
// (debounced: config management writes several files in a burst), or when
// a policy dir that is a Kubernetes ConfigMap volume swaps its ..data
// symlink.
func (e *Enforcer) WatchPolicy(ctx context.Context, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	for _, p := range e.cfg.PolicyPaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			p = filepath.Dir(p)
		}
		if err := w.Add(p); err != nil {
			e.log.Warn("cannot watch policy path; reload with SIGHUP", "path", p, "err", err)
		}
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if policyEvent(ev.Name) {
				timer = time.After(debounce)
			}
		case <-w.Errors:
		case <-timer:
			timer = nil
			if err := e.Reload(ctx); err != nil {
				e.log.Error("policy change rejected; last good policy stays in force", "err", err)
			}
		}
	}
}

// kubeletData is the symlink a Kubernetes ConfigMap or Secret volume
// swaps to publish new contents: kubelet writes the files into a new
// timestamped dir (..2026_12_05_08_40_00.123), points ..data_tmp at it and
// renames ..data_tmp over ..data. The keys themselves (10-tenants.toml ->
// ..data/10-tenants.toml) never change, so no event names a .toml file.
const kubeletData = "..data"

// policyEvent reports whether an event on name, an entry of a policy dir,
// may change the policy: a *.toml file, or kubelet's ..data swap.
func policyEvent(name string) bool {
	base := filepath.Base(name)
	return strings.HasSuffix(base, ".toml") || base == kubeletData
}

// Healthy reports whether the loop ticked recently (for the watchdog).
func (e *Enforcer) Healthy() bool {
	v := e.View()
	return e.clock.Now().Sub(v.Loop.LastTick) < 3*e.cfg.Interval+5*time.Second
}
