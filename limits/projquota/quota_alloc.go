package projquota

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// ProjectIDSource reports project IDs (>= from) already in use on the
// filesystems quell manages; *Quotas with a set of paths implements it via
// QuotaIDSource.
type ProjectIDSource interface {
	ProjectIDsInUse(from uint32) ([]uint32, error)
}

// QuotaIDSource is the union of the project IDs in use on Paths.
type QuotaIDSource struct {
	Quotas *Quotas
	Paths  []string
}

// ProjectIDsInUse implements ProjectIDSource; any unreadable filesystem is
// an error (an ID must never be handed out on a guess).
func (s QuotaIDSource) ProjectIDsInUse(from uint32) ([]uint32, error) {
	var all []uint32
	for _, p := range s.Paths {
		ids, err := s.Quotas.ProjectIDsInUse(p, from)
		if err != nil {
			return nil, err
		}
		all = append(all, ids...)
	}
	return all, nil
}

// ProjectIDFile is the allocator's file in its state directory.
const ProjectIDFile = "project-ids.json"

// DefaultProjectIDBase is the first project ID quell hands out, far above
// IDs an administrator is likely to have set by hand.
const DefaultProjectIDBase = 100000

// Allocator hands out project IDs, one per key (a container ID), persisted
// in <stateDir>/project-ids.json so a restarted quelld keeps them. It is
// safe for concurrent use.
type Allocator struct {
	path string
	base uint32
	src  ProjectIDSource
	mu   sync.Mutex
	ids  map[string]uint32
}

type allocatorFile struct {
	Assigned map[string]uint32 `json:"assigned"`
}

// NewAllocator loads the allocator persisted in stateDir (an absent file is
// an empty allocator; a corrupt one is an error, never silently reset). IDs
// are chosen from base upwards; src (may be nil) reports IDs already on the
// filesystems.
func NewAllocator(stateDir string, base uint32, src ProjectIDSource) (*Allocator, error) {
	if base == 0 {
		return nil, errors.New("project ID allocator: base 0 is the default project of every file")
	}
	a := &Allocator{path: filepath.Join(stateDir, ProjectIDFile), base: base, src: src, ids: map[string]uint32{}}
	b, err := os.ReadFile(a.path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load project IDs: %w", err)
	}
	var f allocatorFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("load project IDs from %s: %w", a.path, err)
	}
	if f.Assigned != nil {
		a.ids = f.Assigned
	}
	return a, nil
}

// Lookup returns key's ID, if it has one.
func (a *Allocator) Lookup(key string) (uint32, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.ids[key]
	return id, ok
}

// Assigned returns a copy of every key's ID.
func (a *Allocator) Assigned() map[string]uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]uint32, len(a.ids))
	for k, id := range a.ids {
		out[k] = id
	}
	return out
}

// Allocate returns key's ID, choosing and persisting a new one if it has
// none: the lowest ID >= base that is neither assigned to another key nor
// in use on the filesystems. Nothing is assigned if persisting fails.
func (a *Allocator) Allocate(key string) (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := a.ids[key]; ok {
		return id, nil
	}
	taken := map[uint32]bool{}
	for _, id := range a.ids {
		taken[id] = true
	}
	if a.src != nil {
		used, err := a.src.ProjectIDsInUse(a.base)
		if err != nil {
			return 0, fmt.Errorf("allocate project ID for %s: %w", key, err)
		}
		for _, id := range used {
			taken[id] = true
		}
	}
	id, ok := lowestFree(a.base, taken)
	if !ok {
		return 0, fmt.Errorf("allocate project ID for %s: none free above %d", key, a.base)
	}
	a.ids[key] = id
	if err := a.save(); err != nil {
		delete(a.ids, key)
		return 0, fmt.Errorf("allocate project ID for %s: %w", key, err)
	}
	return id, nil
}

// Release forgets key's ID so it can be reused; an unknown key is a no-op.
// Release the quota (Quotas.Release) and delete the files first, or the
// filesystem still reports the ID in use and Allocate skips it anyway.
func (a *Allocator) Release(key string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.ids[key]
	if !ok {
		return nil
	}
	delete(a.ids, key)
	if err := a.save(); err != nil {
		a.ids[key] = id
		return fmt.Errorf("release project ID of %s: %w", key, err)
	}
	return nil
}

// lowestFree returns the lowest ID >= base not in taken.
func lowestFree(base uint32, taken map[uint32]bool) (uint32, bool) {
	for id := uint64(base); id < 0xffffffff; id++ { // 2^32-1 is the "invalid" ID
		if !taken[uint32(id)] {
			return uint32(id), true
		}
	}
	return 0, false
}

// save writes the file atomically: temp file, fsync, rename, fsync the dir.
// (encoding/json sorts map keys, so the file is stable.)
func (a *Allocator) save() error {
	b, err := json.MarshalIndent(allocatorFile{Assigned: a.ids}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(a.path)
	tmp, err := os.CreateTemp(dir, ProjectIDFile+".tmp*")
	if err != nil {
		return fmt.Errorf("save project IDs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save project IDs: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save project IDs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save project IDs: %w", err)
	}
	if err := os.Rename(tmp.Name(), a.path); err != nil {
		return fmt.Errorf("save project IDs: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save project IDs: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save project IDs: sync %s: %w", dir, err)
	}
	return nil
}
