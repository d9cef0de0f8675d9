//go:build lab

// quelld refuses to run on a cgroup root that is not a usable cgroup v2
// hierarchy (issue #12 item 8), with one line naming the fix: on a tmpfs
// (what /sys/fs/cgroup is on a v1 or hybrid host), and on a cgroup2
// directory that offers only the memory controller. `quell status`
// without quelld says the same.
package kernel

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/test/labkit"
)

func TestQuelldRefusesANonCgroup2Root(t *testing.T) {
	labkit.Require(t)
	tmp := t.TempDir()
	hybrid := filepath.Join(tmp, "cgroup")
	if err := os.Mkdir(hybrid, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", hybrid, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(hybrid, unix.MNT_DETACH) })
	// What a hybrid host's tmpfs holds: v1-looking directories.
	for _, d := range []string{"cpu", "memory", "unified", "system.slice/docker/" + strings.Repeat("a", 64)} {
		_ = os.MkdirAll(filepath.Join(hybrid, d), 0o755)
	}
	// A cgroup2 directory below which only memory is enabled.
	parent := labkit.NewCgroup(t, "qtest-cgroup2-check")
	if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
		t.Fatal(err)
	}
	memOnly := filepath.Join(parent, "child")
	if err := os.Mkdir(memOnly, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, root string
		want       []string
	}{
		{"tmpfs", hybrid, []string{"is a tmpfs, not cgroup2", "systemd.unified_cgroup_hierarchy=1"}},
		{"memory only", memOnly, []string{"controllers cpu, io, pids are not available", "systemd.unified_cgroup_hierarchy=1"}},
	} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "quelld.sock")
		cmd := exec.Command("quelld", "--config", filepath.Join(dir, "none.toml"), "--policy", dir,
			"--state-dir", filepath.Join(dir, "state"), "--socket", sock, "--metrics", "off", "--cgroup-root", tc.root)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s: quelld still running after 20 s on cgroup root %s (it should refuse)\n%s", tc.name, tc.root, out)
			continue
		}
		code := cmd.ProcessState.ExitCode()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Logf("FIGURE cgroup2-check %s: quelld exit %d, %d line(s): %s", tc.name, code, len(lines), lines[len(lines)-1])
		if code == 0 || err == nil {
			t.Errorf("%s: quelld exited 0", tc.name)
		}
		if _, serr := os.Stat(sock); serr == nil {
			t.Errorf("%s: quelld opened its socket on a non-cgroup2 root", tc.name)
		}
		if len(lines) != 1 {
			t.Errorf("%s: want one line, got %d:\n%s", tc.name, len(lines), out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: output does not say %q:\n%s", tc.name, w, out)
			}
		}
	}

	// quell without quelld, reading cgroupfs itself, says the same.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "quelld.toml")
	if err := os.WriteFile(cfg, []byte("cgroup_root = \""+hybrid+"\"\nstate_dir = \""+filepath.Join(dir, "state")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("quell", "--socket", filepath.Join(dir, "none.sock"), "status")
	cmd.Env = append(os.Environ(), "QUELL_CONFIG="+cfg)
	out, err := cmd.CombinedOutput()
	t.Logf("FIGURE cgroup2-check quell status without quelld: %v: %s", err, strings.TrimSpace(string(out)))
	if err == nil || !strings.Contains(string(out), "systemd.unified_cgroup_hierarchy=1") {
		t.Errorf("quell status on a tmpfs cgroup root: %v\n%s", err, out)
	}
}
