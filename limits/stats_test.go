package limits

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestStats(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		cg + "/cpu.stat":            cpuStat61,
		cg + "/memory.current":      "4096\n",
		cg + "/memory.swap.current": "0\n",
		cg + "/memory.events":       "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
		cg + "/memory.stat":         memoryStat61,
		cg + "/io.stat":             "",
		cg + "/pids.current":        "3\n",
		cg + "/pids.max":            "max\n",
		cg + "/pids.events":         "max 0\n",
		cg + "/cgroup.events":       "populated 1\nfrozen 0\n",
		"bad.scope/cpu.stat":        "usage_usec x\n",
		"bad.scope/pids.current":    "7\n",
	})
	f := NewFS(root)
	s, err := f.Stats(cg)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.CPU == nil || s.CPU.NrThrottled != 97 || s.MemoryCurrent == nil || *s.MemoryCurrent != 4096 ||
		s.SwapCurrent == nil || *s.SwapCurrent != 0 || s.MemoryEvents == nil || s.Memory == nil ||
		s.IO == nil || len(s.IO.Devices) != 0 || s.PidsCurrent == nil || *s.PidsCurrent != 3 ||
		s.PidsMax == nil || *s.PidsMax != Max || s.PidsEvents == nil || s.Events == nil || !s.Events.Populated {
		t.Errorf("Stats = %+v", s)
	}
	if s.MemoryPeak != nil {
		t.Errorf("missing memory.peak read as %d", *s.MemoryPeak)
	}

	s, err = f.Stats("bad.scope")
	if !errors.Is(err, ErrSyntax) || s.CPU != nil || s.PidsCurrent == nil || *s.PidsCurrent != 7 {
		t.Errorf("Stats(bad) = %+v, %v", s, err)
	}
	if _, err := f.Stats("gone.scope"); !errors.Is(err, ErrGone) {
		t.Errorf("Stats(gone) = %v", err)
	}
	// A file that cannot be read (here: a directory) is an error, not a zero.
	os.Remove(filepath.Join(root, cg, "memory.current"))
	os.Mkdir(filepath.Join(root, cg, "memory.current"), 0o755)
	s, err = f.Stats(cg)
	if err == nil || s.MemoryCurrent != nil || s.CPU == nil {
		t.Errorf("Stats with unreadable memory.current = %+v, %v", s.MemoryCurrent, err)
	}
}
