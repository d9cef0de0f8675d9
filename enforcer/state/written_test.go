package state

import (
	"slices"
	"testing"
	"time"
)

// What quell wrote survives a restart (newest two), an adopted original
// replaces the old one, and restoring forgets both.
func TestWrittenAndAdoptedOriginals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const cg = "system.slice/docker-a.scope"
	s.RecordOriginal(cg, "memory.max", "67108864")
	s.RecordWritten(cg, "memory.max", "33554432")
	s.RecordWritten(cg, "memory.max", "30000000")
	if s.RecordWritten(cg, "memory.max", "30000000") {
		t.Error("the same value again counted as a change")
	}
	if err := s.Save(time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Written(cg, "memory.max"); !slices.Equal(got, []string{"30000000", "33554432"}) {
		t.Fatalf("written after reopen = %v, want the newest two", got)
	}
	if !s.AdoptOriginal(cg, "memory.max", "50331648") {
		t.Fatal("adopting a new original reported no change")
	}
	if got := s.Originals(cg)["memory.max"]; got != "50331648" {
		t.Fatalf("original after adoption = %q", got)
	}
	if got := s.Written(cg, "memory.max"); !slices.Equal(got, []string{"30000000", "33554432"}) {
		t.Fatalf("written after adoption = %v, want them kept (a daemon-reload may write one back)", got)
	}
	s.RecordWritten(cg, "memory.max", "33554432")
	s.ForgetFile(cg, "memory.max")
	if got := s.Written(cg, "memory.max"); len(got) != 0 || len(s.Cgroups()) != 0 {
		t.Fatalf("after restore: written %v, cgroups %v", got, s.Cgroups())
	}
}
