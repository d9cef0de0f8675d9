package state

import (
	"testing"
	"time"
)

func TestUlimitsKeptAcrossOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	inf := ^uint64(0)
	if !s.RecordUlimit("a.scope", "nofile", Ulimit{Soft: 1048576, Hard: 1048576, WantSoft: 64, WantHard: 64}) {
		t.Fatal("first record: no change")
	}
	// A later record keeps the first original, replaces the wanted value.
	s.RecordUlimit("a.scope", "nofile", Ulimit{Soft: 64, Hard: 64, WantSoft: 32, WantHard: 32})
	s.RecordUlimit("a.scope", "core", Ulimit{Soft: inf, Hard: inf})
	if err := s.Save(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := s2.Ulimits("a.scope")
	if got["nofile"] != (Ulimit{Soft: 1048576, Hard: 1048576, WantSoft: 32, WantHard: 32}) || got["core"].Hard != inf {
		t.Fatalf("after reopen: %+v", got)
	}
	s2.ForgetUlimit("a.scope", "nofile")
	if cgs := s2.UlimitCgroups(); len(cgs) != 1 {
		t.Fatalf("cgroups %v", cgs)
	}
	s2.ForgetUlimit("a.scope", "core")
	if cgs := s2.UlimitCgroups(); len(cgs) != 0 {
		t.Fatalf("cgroups %v after forgetting every resource", cgs)
	}
}
