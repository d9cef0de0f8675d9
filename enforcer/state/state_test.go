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

func TestCorruptStateIsAnErrorNamingTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) {
		t.Fatalf("Open(corrupt) = %v, want an error naming the file", err)
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
