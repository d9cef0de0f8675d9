package limits

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestStatDirReadsAsStatsOf(t *testing.T) { // not parallel: AllocsPerRun
	cg := "system.slice/x.scope"
	root := fakeTree(t, map[string]string{
		cg + "/cpu.stat":            cpuStat61,
		cg + "/memory.current":      "1048576\n",
		cg + "/memory.swap.current": "0\n",
		cg + "/memory.events":       "low 0\nhigh 2\nmax 0\noom 0\noom_kill 1\n",
		cg + "/pids.current":        "3\n",
		cg + "/io.stat":             "254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
		cg + "/io.pressure":         "some avg10=1.50 avg60=0.00 avg300=0.00 total=100\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=50\n",
	})
	f := NewFS(root)
	d, err := f.OpenStatDir(cg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	only := map[string]bool{"memory.current": true, "memory.swap.current": true, "memory.events": true, "io.stat": true, "pids.current": true, "memory.peak": true}
	want, werr := f.StatsOf(cg, only)
	got, gerr := d.Stats(only)
	if werr != nil || gerr != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("StatDir.Stats = %+v, %v; StatsOf = %+v, %v", got, gerr, want, werr)
	}
	if got.MemoryPeak != nil || *got.MemoryCurrent != 1048576 || got.IO == nil || got.MemoryEvents.OOMKill != 1 {
		t.Errorf("stats: %+v", got)
	}
	c, err := d.CPUStat()
	if err != nil || c.UsageUsec == 0 {
		t.Errorf("CPUStat = %+v, %v", c, err)
	}
	p, err := d.PSI("io.pressure")
	if err != nil || p.Some.Avg10 != 1.5 || p.Full.Total != 50 {
		t.Errorf("PSI = %+v, %v", p, err)
	}
	if _, err := d.PSI("cpu.pressure"); !errors.Is(err, ErrMissing) {
		t.Errorf("missing pressure file: %v, want ErrMissing", err)
	}
	if _, err := d.PSI("../cpu.pressure"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a name with a slash: %v, want ErrUnsafe", err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := d.PSI("io.pressure"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.CPUStat(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per PSI and CPUStat read, want 0", allocs)
	}
	if err := os.RemoveAll(filepath.Join(root, cg)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stats(only); !errors.Is(err, ErrGone) {
		t.Errorf("Stats of a removed cgroup: %v, want ErrGone", err)
	}
	if _, err := d.CPUStat(); !errors.Is(err, ErrGone) {
		t.Errorf("CPUStat of a removed cgroup: %v, want ErrGone", err)
	}
	if _, err := f.OpenStatDir(cg, nil); !errors.Is(err, ErrGone) {
		t.Errorf("OpenStatDir of a removed cgroup: %v, want ErrGone", err)
	}
}

func TestStatDirRefusesSymlinks(t *testing.T) {
	t.Parallel()
	outside := fakeTree(t, map[string]string{"cpu.stat": "usage_usec 1\nuser_usec 1\nsystem_usec 0\n", "secret": "1\n"})
	root := fakeTree(t, map[string]string{"a.slice/cpu.stat": "usage_usec 1\nuser_usec 1\nsystem_usec 0\n"})
	if err := os.Symlink(outside, filepath.Join(root, "a.slice", "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "a.slice", "memory.current")); err != nil {
		t.Fatal(err)
	}
	f := NewFS(root)
	if _, err := f.OpenStatDir("a.slice/evil", nil); !errors.Is(err, ErrUnsafe) {
		t.Errorf("OpenStatDir through a symlink: %v, want ErrUnsafe", err)
	}
	d, err := f.OpenStatDir("a.slice", new([]byte))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Stats(map[string]bool{"memory.current": true}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a symlinked file: %v, want ErrUnsafe", err)
	}
}

func TestStatDirCurrentReadsAsFSCurrent(t *testing.T) {
	t.Parallel()
	cg := "system.slice/y.scope"
	root := fakeTree(t, map[string]string{
		cg + "/cpu.stat":   cpuStat61,
		cg + "/cpu.max":    "50000 100000\n",
		cg + "/memory.max": "268435456\n",
		cg + "/io.max":     "254:0 rbps=1048576 wbps=max riops=max wiops=max\n",
		cg + "/io.weight":  "default 100\n254:0 200\n",
	})
	f := NewFS(root)
	d, err := f.OpenStatDir(cg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ws := []Write{{"cpu.max", "max 100000"}, {"memory.max", "max"}, {"io.max", "254:0 rbps=2"}, {"io.max", "8:0 wbps=1"}, {"io.weight", "default 50"}}
	want, werr := f.Current(cg, ws)
	got, gerr := d.Current(ws)
	if werr != nil || gerr != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("StatDir.Current = %q, %v; FS.Current = %q, %v", got, gerr, want, werr)
	}
	if got[3].Value != "8:0 rbps=max wbps=max riops=max wiops=max" || got[0].Value != "50000 100000" {
		t.Errorf("Current = %q", got)
	}
	if _, err := d.Current([]Write{{"pids.max", "10"}}); !errors.Is(err, ErrMissing) {
		t.Errorf("a file the cgroup lacks: %v, want ErrMissing", err)
	}
	if _, err := d.Current([]Write{{"../cpu.max", "1"}}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a name with a slash: %v, want ErrUnsafe", err)
	}
	if err := os.Symlink(filepath.Join(root, cg, "cpu.max"), filepath.Join(root, cg, "pids.max")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Current([]Write{{"pids.max", "10"}}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("a symlinked limit file: %v, want ErrUnsafe", err)
	}
}
