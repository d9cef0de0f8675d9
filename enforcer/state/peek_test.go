package state

import (
	"sort"
	"testing"
)

func TestSameOriginalsAndEachOriginal(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !s.SameOriginals("a.scope", nil) {
		t.Error("no originals: not the same as none")
	}
	s.RecordOriginal("a.scope", "cpu.max", "max 100000")
	s.RecordOriginal("a.scope", "pids.max", "max")
	if !s.SameOriginals("a.scope", map[string]string{"cpu.max": "max 100000", "pids.max": "max"}) {
		t.Error("same originals not recognised")
	}
	if s.SameOriginals("a.scope", map[string]string{"cpu.max": "max 100000"}) || s.SameOriginals("a.scope", map[string]string{"cpu.max": "1 100000", "pids.max": "max"}) {
		t.Error("different originals taken for the same")
	}
	var keys []string
	s.EachOriginal("a.scope", func(k, v string) { keys = append(keys, k+"="+v) })
	sort.Strings(keys)
	if len(keys) != 2 || keys[0] != "cpu.max=max 100000" || keys[1] != "pids.max=max" {
		t.Errorf("EachOriginal gave %q", keys)
	}
	s.ForgetFile("a.scope", "pids.max")
	if s.SameOriginals("a.scope", map[string]string{"cpu.max": "max 100000", "pids.max": "max"}) {
		t.Error("a forgotten original still counted")
	}
}
