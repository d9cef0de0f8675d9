package enforcer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/limits/projquota"
)

// QuotaDirsFile, in the state dir, lists every directory quell tagged with
// a project (dir → project ID), so `quelld --restore-all` can put them back
// in project 0 and clear the projects' limits after quelld stopped, when
// nothing is in memory. A directory is recorded before it is tagged and
// dropped once untagged.
const QuotaDirsFile = "project-dirs.json"

// recordedQuotas is DiskQuotas keeping QuotaDirsFile up to date.
type recordedQuotas struct {
	DiskQuotas
	path string
	mu   sync.Mutex
}

type quotaDirs struct {
	Dirs map[string]uint32 `json:"dirs"`
}

func recordDirs(q DiskQuotas, stateDir string) *recordedQuotas {
	return &recordedQuotas{DiskQuotas: q, path: filepath.Join(stateDir, QuotaDirsFile)}
}

// Assign records dir, then tags it: a crash between the two leaves a record
// of a directory that is not tagged, which restoring handles.
func (r *recordedQuotas) Assign(dir string, id uint32, l projquota.ProjectLimit) error {
	if err := r.update(func(d map[string]uint32) { d[dir] = id }); err != nil {
		return err
	}
	return r.DiskQuotas.Assign(dir, id, l)
}

// Untag untags dir, then forgets it.
func (r *recordedQuotas) Untag(dir string) error {
	if err := r.DiskQuotas.Untag(dir); err != nil {
		return err
	}
	return r.update(func(d map[string]uint32) { delete(d, dir) })
}

func (r *recordedQuotas) load() (map[string]uint32, error) {
	b, err := os.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]uint32{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.path, err)
	}
	var q quotaDirs
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, fmt.Errorf("parse %s: %w", r.path, err)
	}
	if q.Dirs == nil {
		q.Dirs = map[string]uint32{}
	}
	return q.Dirs, nil
}

func (r *recordedQuotas) update(f func(map[string]uint32)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, err := r.load()
	if err != nil {
		return err
	}
	f(d)
	b, err := json.MarshalIndent(quotaDirs{Dirs: d}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return fmt.Errorf("record quota dirs: %w", err)
	}
	if err := state.WriteAtomic(r.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("record quota dirs: %w", err)
	}
	return nil
}
