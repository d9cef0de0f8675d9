package systemd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUnitForCgroup(t *testing.T) {
	t.Parallel()
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		cg   string
		unit string
		ok   bool
	}{
		{"system.slice/docker-" + id + ".scope", "docker-" + id + ".scope", true},
		{"/system.slice/docker-" + id + ".scope", "docker-" + id + ".scope", true},
		{"system.slice/cron.service", "cron.service", true},
		{"init.scope", "init.scope", true},
		{"quell.slice", "quell.slice", true},
		{"quell.slice/quell-acme.slice", "quell-acme.slice", true},
		{"/quell.slice/quell-acme.slice/", "quell-acme.slice", true},
		{"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-" + id + ".scope",
			"cri-containerd-" + id + ".scope", true},
		{"machine.slice/libpod-" + id + ".scope", "libpod-" + id + ".scope", true},
		{"user.slice/user-1000.slice/session-3.scope", "session-3.scope", true},
		{"system.slice/_cpu.slice", "", false}, // cpu.slice would live at the top
		{"_cpu.slice", "cpu.slice", true},
		// Not PID 1's: root, cgroupfs driver, delegated subtrees, sub-cgroups.
		{"", "", false},
		{"/", "", false},
		{"docker/" + id, "", false},
		{"system.slice/docker-" + id + ".scope/init", "", false},
		{"user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope", "", false},
		{"system.slice/containerd.service/kubepods-x.slice", "", false},
		{"system.slice/quell-acme.slice", "", false}, // slice name says quell.slice
		{"quell.slice/other.slice", "", false},
		{"foo.slice/bar baz.scope", "", false},
		{"system.slice/foo.mount", "", false},
	}
	for _, tt := range tests {
		unit, ok := UnitForCgroup(tt.cg)
		if unit != tt.unit || ok != tt.ok {
			t.Errorf("UnitForCgroup(%q) = %q, %v; want %q, %v", tt.cg, unit, ok, tt.unit, tt.ok)
		}
	}
}

func TestSliceCgroup(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"-.slice":                "",
		"system.slice":           "system.slice",
		"quell.slice":            "quell.slice",
		"quell-acme.slice":       "quell.slice/quell-acme.slice",
		"quell-acme-batch.slice": "quell.slice/quell-acme.slice/quell-acme-batch.slice",
	} {
		if got := SliceCgroup(in); got != want {
			t.Errorf("SliceCgroup(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunning(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if Running(root) {
		t.Fatal("Running on an empty root = true")
	}
	if err := os.MkdirAll(filepath.Join(root, "run", "systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "run", "systemd", "system"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if Running(root) {
		t.Fatal("Running with a plain file run/systemd/system = true")
	}
	root2 := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root2, "run", "systemd", "system"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !Running(root2) {
		t.Fatal("Running with run/systemd/system = false")
	}
}
