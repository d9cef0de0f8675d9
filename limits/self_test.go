package limits

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProcCgroup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		fail     bool
	}{
		{"0::/system.slice/quelld.service\n", "system.slice/quelld.service", false},
		{"0::/\n", "", false},
		{"12:pids:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice/x.scope\n", "user.slice/x.scope", false},
		{"0::/a/b (deleted)\n", "a/b", false},
		{"12:pids:/user.slice\n", "", true},
		{"", "", true},
		{"0::relative\n", "", true},
	} {
		got, err := parseProcCgroup(strings.NewReader(tc.in))
		if (err != nil) != tc.fail || got != tc.want {
			t.Errorf("parseProcCgroup(%q) = %q, %v", tc.in, got, err)
		}
		if tc.fail && !errors.Is(err, ErrSyntax) {
			t.Errorf("parseProcCgroup(%q): %v, want ErrSyntax", tc.in, err)
		}
	}
}

func TestSelfCgroup(t *testing.T) {
	t.Parallel()
	proc := t.TempDir()
	os.MkdirAll(filepath.Join(proc, "self"), 0o755)
	os.WriteFile(filepath.Join(proc, "self", "cgroup"), []byte("0::/system.slice/quelld.service\n"), 0o644)
	if got, err := SelfCgroup(proc); err != nil || got != "system.slice/quelld.service" {
		t.Errorf("SelfCgroup = %q, %v", got, err)
	}
	if _, err := SelfCgroup(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SelfCgroup without /proc: %v", err)
	}
	// The real one parses on any Linux with cgroup v2 or a hybrid.
	if _, err := SelfCgroup("/proc"); err != nil {
		t.Logf("SelfCgroup(/proc): %v (no cgroup v2 here)", err)
	}
}
