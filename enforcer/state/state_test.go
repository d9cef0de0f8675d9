package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
)

func TestOriginalsSurviveReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !s.RecordOriginal("system.slice/a.scope", "cpu.max", "max 100000") {
		t.Fatal("first original not recorded")
	}
	if s.RecordOriginal("system.slice/a.scope", "cpu.max", "50000 100000") {
		t.Fatal("a second value replaced the original")
	}
	deadline := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	s.SetPenalties([]detect.Penalty{{Target: detect.Ref{ID: "a"}, Kind: detect.Freeze, Deadline: deadline}})
	if err := s.Save(deadline); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Originals("system.slice/a.scope")["cpu.max"]; got != "max 100000" {
		t.Fatalf("original after reopen = %q", got)
	}
	if ps := s2.Penalties(); len(ps) != 1 || !ps[0].Deadline.Equal(deadline) {
		t.Fatalf("penalties after reopen = %+v", ps)
	}
	s2.Forget("system.slice/a.scope")
	if len(s2.Cgroups()) != 0 {
		t.Fatal("Forget kept the cgroup")
	}
}

// A corrupt state file never keeps quelld down: Open starts from the
// previous copy Save kept, or empty when that one is bad too, and says so
// naming the file. (It used to refuse to start.)
func TestCorruptStateStartsFromThePreviousCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	s.RecordOriginal("system.slice/a.scope", "cpu.max", "max 100000")
	must(t, s.Save(t1)) // no previous copy yet
	if _, err := os.Stat(filepath.Join(dir, PrevName)); err == nil {
		t.Fatal("a previous copy of nothing")
	}
	s.RecordOriginal("system.slice/b.scope", "cpu.max", "max 100000")
	must(t, s.Save(t1.Add(time.Second))) // prev: a only
	s.RecordOriginal("system.slice/c.scope", "cpu.max", "max 100000")
	must(t, s.Save(t1.Add(2*time.Second))) // prev: a and b
	must(t, os.WriteFile(filepath.Join(dir, FileName), []byte("\x00garbage{"), 0o600))

	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s2.Cgroups(), ","); got != "system.slice/a.scope,system.slice/b.scope" {
		t.Fatalf("cgroups after recovery = %q, want the previous save's", got)
	}
	if r := s2.Recovered(); !strings.Contains(r, filepath.Join(dir, FileName)) || !strings.Contains(r, PrevName) {
		t.Fatalf("Recovered() = %q, want it to name both files", r)
	}
	if b, err := os.ReadFile(filepath.Join(dir, CorruptName)); err != nil || !strings.Contains(string(b), "garbage") {
		t.Fatalf("the corrupt file was not kept aside: %v", err)
	}
	// The first save after a recovery keeps the good previous copy.
	must(t, s2.Save(t1.Add(3*time.Second)))
	prev, err := readData(filepath.Join(dir, PrevName))
	if err != nil || len(prev.Originals) != 2 {
		t.Fatalf("previous copy after the first save = %+v, %v", prev.Originals, err)
	}

	// Both bad: empty, and said so.
	must(t, os.WriteFile(filepath.Join(dir, FileName), []byte("{half"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, PrevName), []byte("{half"), 0o600))
	s3, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s3.Cgroups()) != 0 || !strings.Contains(s3.Recovered(), "empty state") {
		t.Fatalf("both corrupt: cgroups %v, recovered %q", s3.Cgroups(), s3.Recovered())
	}
	must(t, s3.Save(t1.Add(4*time.Second)))
	if _, err := readData(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("state after starting empty: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A state file written before penalties were keyed by cgroup (same
// records, keyed by ID in memory) loads with each penalty on the cgroup it
// records, and thaws and quarantines survive a reopen.
func TestOldStateFileLoadsByCgroupAndNewListsSurvive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := `{"version":1,"originals":{},"penalties":[` +
		`{"id":"abc","cgroup":"system.slice/docker-abc.scope","tenant":"","action":"freeze","rule":"r","step":1,"since":"2026-11-23T12:00:00Z","deadline":"2026-11-23T13:00:00Z","reason":"x","rule_name":"r"},` +
		`{"id":"abc","cgroup":"user.slice/docker-abc.scope","tenant":"","action":"throttle","rule":"r","step":0,"factor":0.5,"since":"2026-11-23T12:00:00Z","deadline":"2026-11-23T13:00:00Z","reason":"y","rule_name":"r","cpu_quota":5000}` +
		`],"saved_at":"2026-11-23T12:00:01Z"}`
	must(t, os.WriteFile(filepath.Join(dir, FileName), []byte(old), 0o600))
	s, err := Open(dir)
	if err != nil || s.Recovered() != "" {
		t.Fatalf("Open(old file) = %v, recovered %q", err, s.Recovered())
	}
	ps := s.Penalties()
	if len(ps) != 2 || ps[0].Target.Cgroup != "system.slice/docker-abc.scope" || ps[1].Target.Cgroup != "user.slice/docker-abc.scope" ||
		ps[1].Throttle.CPUQuota == nil || *ps[1].Throttle.CPUQuota != 5000 {
		t.Fatalf("penalties = %+v", ps)
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s.SetThaws([]Thaw{{Cgroup: "system.slice/docker-abc.scope", ID: "abc", Since: at}})
	s.SetQuarantines([]detect.Quarantine{{Target: detect.Ref{ID: "abc", Cgroup: "system.slice/docker-abc.scope"},
		Identity: "docker web", Rule: "r", Since: at, LastKill: at, Until: at.Add(10 * time.Minute), Kills: 1}})
	must(t, s.Save(at))
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if th := s2.Thaws(); len(th) != 1 || th[0].Cgroup != "system.slice/docker-abc.scope" || !th[0].Since.Equal(at) {
		t.Fatalf("thaws after reopen = %+v", th)
	}
	if q := s2.Quarantines(); len(q) != 1 || q[0].Identity != "docker web" || !q[0].Until.Equal(at.Add(10*time.Minute)) {
		t.Fatalf("quarantines after reopen = %+v", q)
	}
}

func TestWriteAtomicLeavesNoTempFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	for i := 0; i < 3; i++ {
		if err := WriteAtomic(p, []byte("v"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("dir holds %d entries, want only x.json", len(ents))
	}
}
