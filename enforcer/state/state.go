// Package state keeps what quelld must not forget across a crash or restart:
// the original value of every cgroup file it changed (to restore it), active
// penalties with their deadlines (so nothing stays frozen or throttled
// because quelld died), thaws not yet confirmed by the kernel, the
// quarantine of evicted containers, and the recent event log. It is written
// atomically (temp file, fsync, rename, fsync of the directory): after a
// kill -9 at any moment the file holds either the previous or the new
// state, never a mix. The file it replaces is kept as state.json.prev, so a
// state file damaged later (a disk error, a stray edit) costs one save, not
// everything: Open then starts from the previous copy and says so.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
)

// FileName is the state file inside the state dir; PrevName the previous
// copy Save keeps beside it; CorruptName where Open moves a file it could
// not read (for a post-mortem), replacing an older one.
const (
	FileName    = "state.json"
	PrevName    = "state.json.prev"
	CorruptName = "state.json.corrupt"
)

// Data is the content of the state file.
type Data struct {
	Version   int                          `json:"version"`
	Originals map[string]map[string]string `json:"originals"` // cgroup → file → value before quell
	Penalties Penalties                    `json:"penalties"`
	// Thaws are cgroups whose thaw was written but not yet confirmed
	// (cgroup.events "frozen 0"): retried after a restart.
	Thaws []Thaw `json:"thaws,omitempty"`
	// Quarantine are the evicted containers watched for a restart.
	Quarantine []detect.Quarantine `json:"quarantine,omitempty"`
	Events     json.RawMessage     `json:"events,omitempty"` // owned by the recorder
	SavedAt    time.Time           `json:"saved_at"`

	// Written is what quell last wrote to the files it keeps originals of,
	// newest first (two at most: the write being made and the one before),
	// so that a value that is neither quell's nor the original is known
	// for the runtime's own (written.go).
	Written map[string]map[string][]string `json:"written,omitempty"`

	// Ulimits are the originals of the per-process limits quell sets on
	// containers' processes with prlimit (ulimits.go): cgroup → resource
	// name (nofile, nproc, cpu, core) → original and what quell sets.
	Ulimits map[string]map[string]Ulimit `json:"ulimits,omitempty"`
}

// Thaw is a thaw not yet confirmed by the kernel.
type Thaw struct {
	Cgroup string    `json:"cgroup"`
	ID     string    `json:"id,omitempty"` // container ID, for events
	Since  time.Time `json:"since"`        // when it was first asked for
}

// Store is the state dir. It is safe for concurrent use.
type Store struct {
	dir string
	ro  bool // OpenReadOnly: Save does nothing
	// dirty is set by every change and cleared by Save, which writes
	// only when something changed.
	dirty bool
	// keepPrev: the state file on disk is not one Open could read, so the
	// next Save must not make it the previous copy.
	keepPrev  bool
	recovered string
	mu        sync.Mutex
	d         Data
}

// Open reads dir/state.json, creating dir (0700) when missing. A missing
// file is an empty state. A file that cannot be read or parsed never keeps
// quelld down: it is moved to state.json.corrupt and Open starts from
// state.json.prev (the copy Save kept before the last write) if that one
// reads, else from an empty state; Recovered then says which, for the log
// and an event. The only error is a state dir that cannot be created.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir %s: %w", dir, err)
	}
	s := &Store{dir: dir, d: emptyData()}
	p := filepath.Join(dir, FileName)
	d, err := readData(p)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err == nil {
		s.d = d
		return s, nil
	}
	bad := err
	moved := ""
	if rerr := os.Rename(p, filepath.Join(dir, CorruptName)); rerr == nil {
		moved = "; it was moved to " + CorruptName
	} else {
		s.keepPrev = true // it stays: never rotate it into the previous copy
	}
	pp := filepath.Join(dir, PrevName)
	prev, perr := readData(pp)
	if perr == nil {
		s.d, s.dirty = prev, true
		s.recovered = fmt.Sprintf("state file unreadable (%v)%s; started from the previous copy %s saved at %s: what changed in its last save is lost",
			bad, moved, pp, prev.SavedAt.Format(time.RFC3339))
		return s, nil
	}
	s.dirty = true
	s.recovered = fmt.Sprintf("state file unreadable (%v)%s, and so is its previous copy (%v); started with an empty state: originals, penalties and quarantines it held are lost (frozen containers are still thawed: nothing is frozen without a live penalty)",
		bad, moved, perr)
	return s, nil
}

func emptyData() Data { return Data{Version: 1, Originals: map[string]map[string]string{}} }

// readData reads and parses one state file; errors name it.
func readData(p string) (Data, error) {
	d := emptyData()
	b, err := os.ReadFile(p)
	if err != nil {
		return d, fmt.Errorf("read state %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return emptyData(), fmt.Errorf("parse state %s: %w", p, err)
	}
	if d.Originals == nil {
		d.Originals = map[string]map[string]string{}
	}
	return d, nil
}

// Recovered says how Open recovered from an unreadable state file, "" when
// it did not have to.
func (s *Store) Recovered() string { return s.recovered }

// OpenReadOnly reads dir/state.json if it can, else state.json.prev (a
// missing or unreadable dir is an empty state) and never writes: for `quell` reading cgroupfs
// directly without the daemon.
func OpenReadOnly(dir string) *Store {
	s := &Store{dir: dir, ro: true, d: emptyData()}
	if d, err := readData(filepath.Join(dir, FileName)); err == nil {
		s.d = d
	} else if d, err := readData(filepath.Join(dir, PrevName)); err == nil {
		s.d = d
	}
	return s
}

// Path is the state file's path.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

// RecordOriginal remembers value as cgroup's file's original unless one is
// already kept (the first value seen before quell wrote is the original).
// It reports whether anything changed.
func (s *Store) RecordOriginal(cgroup, file, value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.d.Originals[cgroup]
	if m == nil {
		m = map[string]string{}
		s.d.Originals[cgroup] = m
	}
	if _, ok := m[file]; ok {
		return false
	}
	m[file] = value
	s.dirty = true
	return true
}

// Originals returns a copy of cgroup's kept originals.
func (s *Store) Originals(cgroup string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.d.Originals[cgroup]))
	for k, v := range s.d.Originals[cgroup] {
		out[k] = v
	}
	return out
}

// Cgroups lists the cgroups with kept originals, sorted.
func (s *Store) Cgroups() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.d.Originals))
	for k := range s.d.Originals {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Forget drops cgroup's originals (after they were restored, or the cgroup
// is gone).
func (s *Store) Forget(cgroup string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.d.Originals[cgroup]; ok {
		delete(s.d.Originals, cgroup)
		s.dirty = true
	}
	if _, ok := s.d.Written[cgroup]; ok {
		delete(s.d.Written, cgroup)
		s.dirty = true
	}
}

// SetPenalties replaces the active penalties.
func (s *Store) SetPenalties(ps []detect.Penalty) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reflect.DeepEqual(s.d.Penalties, ps) || len(s.d.Penalties) == 0 && len(ps) == 0 {
		return
	}
	s.d.Penalties = append(Penalties(nil), ps...)
	s.dirty = true
}

// Penalties returns a copy of the active penalties.
func (s *Store) Penalties() []detect.Penalty {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]detect.Penalty(nil), s.d.Penalties...)
}

// SetEvents stores the recorder's serialised events.
func (s *Store) SetEvents(raw json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.Events = append(json.RawMessage(nil), raw...)
	s.dirty = true
}

// Events returns the stored serialised events.
func (s *Store) Events() json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(json.RawMessage(nil), s.d.Events...)
}

// Save writes the state atomically and durably when anything changed
// since the last Save; otherwise it does nothing.
func (s *Store) Save(now time.Time) error {
	if s.ro {
		return nil
	}
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	s.d.SavedAt = now
	b, err := json.Marshal(&s.d)
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	s.mu.Lock()
	keep := s.keepPrev
	s.mu.Unlock()
	if !keep {
		s.rotate()
	}
	if err := WriteAtomic(s.Path(), b, 0o600); err != nil {
		s.mu.Lock()
		s.dirty = true // try again next time
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.keepPrev = false
	s.mu.Unlock()
	return nil
}

// rotate makes the state file on disk the previous copy: a hard link
// renamed over state.json.prev, so the file is never rewritten and each
// step is atomic (the rename that follows in Save fsyncs the directory).
// A failure only means an older previous copy stays.
func (s *Store) rotate() {
	tmp := filepath.Join(s.dir, "."+PrevName+".tmp")
	os.Remove(tmp)
	if err := os.Link(s.Path(), tmp); err != nil {
		return
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, PrevName)); err != nil {
		os.Remove(tmp)
	}
}

// WriteAtomic writes data to path through a temp file in the same directory,
// fsyncs it, renames it over path and fsyncs the directory.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// ForgetFile drops one file's original (after it was restored).
func (s *Store) ForgetFile(cgroup, file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.d.Originals[cgroup]; m != nil {
		delete(m, file)
		s.dirty = true
		if len(m) == 0 {
			delete(s.d.Originals, cgroup)
		}
	}
	s.forgetWritten(cgroup, file)
}
