package enforcer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadDaemonConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := LoadDaemonConfig(filepath.Join(dir, "missing.toml"))
	if err != nil || c.Interval.Duration != time.Second || c.Socket != "/run/quell/quelld.sock" {
		t.Fatalf("missing file: %+v, %v; want defaults", c, err)
	}
	p := filepath.Join(dir, "quelld.toml")
	must(t, os.WriteFile(p, []byte("interval = \"500ms\"\ndry_run = true\n"), 0o644))
	c, err = LoadDaemonConfig(p)
	if err != nil || c.Interval.Duration != 500*time.Millisecond || !c.DryRun || c.StateDir != "/var/lib/quell" {
		t.Fatalf("LoadDaemonConfig = %+v, %v", c, err)
	}
	if c.Config().NoPressureWakeups || !c.LockMemory {
		t.Fatalf("PSI wake-ups and memory locking must be on by default: %+v", c)
	}
	must(t, os.WriteFile(p, []byte("pressure_wakeups = false\nlock_memory = false\n"), 0o644))
	if c, err = LoadDaemonConfig(p); err != nil || !c.Config().NoPressureWakeups || c.LockMemory {
		t.Fatalf("pressure_wakeups = lock_memory = false: NoPressureWakeups = %v, LockMemory = %v, err %v", c.Config().NoPressureWakeups, c.LockMemory, err)
	}
	for _, bad := range []struct{ body, want string }{
		{"intervall = \"1s\"\n", "unknown keys: intervall"},
		{"interval = \"soon\"\n", "quelld.toml"},
		{"interval = \"-1s\"\n", "positive"},
		{"use_systemd = \"maybe\"\n", "auto, yes or no"},
		{"pressure_wakeups = \"yes\"\n", "quelld.toml:1"},
		{"[[x\n", "quelld.toml:"},
	} {
		must(t, os.WriteFile(p, []byte(bad.body), 0o644))
		if _, err := LoadDaemonConfig(p); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err = %v, want it to mention %q", bad.body, err, bad.want)
		}
	}
}

func TestShippedDaemonConfigParses(t *testing.T) {
	t.Parallel()
	c, err := LoadDaemonConfig("../systemd/quelld.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, DefaultDaemonConfig()) {
		t.Fatalf("the shipped quelld.toml changes defaults: %+v", c)
	}
}
