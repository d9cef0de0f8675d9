package enforcer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/quell-dev/quell/enforcer/view"
)

// restoreNetDisk is RestoreAll's network and disk part: it removes every tc
// object quell marked as its own (tc.Shaper.RemoveAll) and undoes every
// project quota quell recorded (recordedQuotas.restoreAll). Fakes given by
// options without these abilities are skipped.
func (e *Enforcer) restoreNetDisk(ctx context.Context) []error {
	var errs []error
	if r, ok := e.shaper.(interface {
		RemoveAll(context.Context) (int, error)
	}); ok {
		n, err := r.RemoveAll(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("remove network shaping: %w", err))
		}
		if n > 0 {
			e.events.add(view.Event{Time: e.clock.Now(), Kind: "restore",
				Reason: fmt.Sprintf("quell told to restore everything: network shaping removed (%d links: host veth filters and tenant IFBs)", n)})
		}
	}
	if rq, ok := e.quotas.(*recordedQuotas); ok {
		dirs, projects, err := rq.restoreAll()
		if err != nil {
			errs = append(errs, err)
		}
		if dirs+projects > 0 {
			e.events.add(view.Event{Time: e.clock.Now(), Kind: "restore",
				Reason: fmt.Sprintf("quell told to restore everything: %d directories back in project 0, %d projects' limits cleared and IDs freed", dirs, projects)})
		}
	}
	e.nets, e.disks = map[string]*netEntry{}, map[string]*diskEntry{}
	return errs
}

// restoreAll untags every recorded directory that still exists, then clears
// the limit of every project ID quell allocated (on the filesystem of one
// of its recorded directories) and frees the ID. A directory or project
// that could not be restored stays recorded for another run.
func (r *recordedQuotas) restoreAll() (dirs, projects int, err error) {
	rec, err := r.load()
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	anchor := map[uint32]string{} // project → an existing directory on its filesystem
	paths := make([]string, 0, len(rec))
	for d := range rec {
		paths = append(paths, d)
	}
	sort.Strings(paths)
	for _, d := range paths {
		id := rec[d]
		if a, ok := existingAncestor(d); ok && anchor[id] == "" {
			anchor[id] = a
		}
		_, err := os.Lstat(d)
		if err == nil {
			err = r.Untag(d)
		}
		if errors.Is(err, fs.ErrNotExist) { // gone with its container
			err = r.update(func(m map[string]uint32) { delete(m, d) })
		} else if err == nil {
			dirs++
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("untag %s (project %d): %w", d, id, err))
		}
	}
	h, ok := r.DiskQuotas.(*hostQuotas)
	if !ok {
		return dirs, projects, errors.Join(errs...)
	}
	a, err := h.alloc()
	if err != nil {
		return dirs, projects, errors.Join(append(errs, err)...)
	}
	assigned := a.Assigned()
	keys := make([]string, 0, len(assigned))
	for k := range assigned {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		id := assigned[k]
		if p := anchor[id]; p != "" {
			if err := h.ClearLimit(p, id); err != nil {
				errs = append(errs, fmt.Errorf("clear the limit of project %d (%s) on the filesystem of %s: %w", id, k, p, err))
				continue
			}
		} else {
			errs = append(errs, fmt.Errorf("project %d (%s): no recorded directory tells its filesystem; its limit stays (xfs_quota -x -c 'limit -p bhard=0 bsoft=0 ihard=0 isoft=0 %d' MOUNTPOINT clears it)", id, k, id))
			continue
		}
		if err := h.Free(k); err != nil {
			errs = append(errs, err)
			continue
		}
		projects++
	}
	return dirs, projects, errors.Join(errs...)
}

// existingAncestor returns p or its nearest existing ancestor directory.
func existingAncestor(p string) (string, bool) {
	for {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, true
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", false
		}
		p = parent
	}
}

// RemoveAll removes every shaping quell marked as its own in quelld's
// network namespace.
func (h *hostShaper) RemoveAll(ctx context.Context) (int, error) {
	s, err := h.shaper()
	if err != nil {
		return 0, err
	}
	return s.RemoveAll(ctx)
}
