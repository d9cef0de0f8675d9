//go:build lab

package systemd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mustRun is run, failing the test on error.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// unitProp reads one property of unit as systemctl shows it.
func unitProp(t *testing.T, unit, prop string) string {
	t.Helper()
	return mustRun(t, "systemctl", "show", "--value", "-p", prop, unit)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readCgroup reads one cgroupfs file below the root, trimmed.
func readCgroup(t *testing.T, cg, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgroupRoot, cg, file))
	if err != nil {
		t.Fatalf("read %s/%s: %v", cg, file, err)
	}
	return strings.TrimSpace(string(b))
}

// checkCgroup asserts exact cgroupfs contents.
func checkCgroup(t *testing.T, when, cg string, want map[string]string) {
	t.Helper()
	for file, w := range want {
		if got := readCgroup(t, cg, file); got != w {
			t.Errorf("%s: %s/%s = %q, want %q", when, cg, file, got, w)
		}
	}
}

// dockerID is a random 64-hex container ID like Docker's.
func dockerID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// startDockerLikeScope starts `sleep` and moves it into a transient scope
// docker-<id>.scope under system.slice, the way Docker's systemd cgroup
// driver (runc) does. It returns the unit and its cgroup.
func startDockerLikeScope(t *testing.T, ctx context.Context) (unit, cg string) {
	t.Helper()
	sleep := exec.Command("sleep", "600")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })

	conn, err := sddbus.NewWithContext(ctx)
	if err != nil {
		t.Fatalf("connect to systemd: %v", err)
	}
	defer conn.Close()
	unit = "docker-" + dockerID(t) + ".scope"
	props := []sddbus.Property{
		sddbus.PropDescription("quell lab docker-like container"),
		sddbus.PropSlice("system.slice"),
		sddbus.PropPids(uint32(sleep.Process.Pid)),
		{Name: "Delegate", Value: godbus.MakeVariant(true)},
	}
	ch := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(ctx, unit, "replace", props, ch); err != nil {
		t.Fatalf("start %s: %v", unit, err)
	}
	select {
	case r := <-ch:
		if r != "done" {
			t.Fatalf("start %s: job %s", unit, r)
		}
	case <-ctx.Done():
		t.Fatalf("start %s: %v", unit, ctx.Err())
	}
	t.Cleanup(func() { _, _ = run(t, "systemctl", "stop", unit) })
	cg = "system.slice/" + unit
	if _, err := os.Stat(filepath.Join(cgroupRoot, cg)); err != nil {
		t.Fatalf("scope cgroup: %v", err)
	}
	return unit, cg
}

// daemonReload runs `systemctl daemon-reload`, which returns once systemd
// has reloaded.
func daemonReload(t *testing.T) {
	t.Helper()
	mustRun(t, "systemctl", "daemon-reload")
}

// blockDevice returns the major and minor of a block device node.
func blockDevice(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || fi.Mode()&os.ModeDevice == 0 {
		t.Fatalf("%s is not a device node", path)
	}
	return unix.Major(st.Rdev), unix.Minor(st.Rdev)
}

// ioMaxLine returns the io.max line for dev ("MAJ:MIN ...") or "".
func ioMaxLine(t *testing.T, cg, dev string) string {
	t.Helper()
	for _, l := range strings.Split(readCgroup(t, cg, "io.max"), "\n") {
		if strings.HasPrefix(l, dev+" ") {
			return l
		}
	}
	return ""
}

// procStatus returns the value of key in /proc/pid/status.
func procStatus(t *testing.T, pid, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if k, v, ok := strings.Cut(string(l), ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%s/status has no %s", pid, key)
	return ""
}
