package labkit

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// StartBusyLoop starts a shell spinning forever directly inside the cgroup
// dir (clone3 with CLONE_INTO_CGROUP, so it never runs elsewhere) and
// returns its PID. It is killed and reaped at cleanup.
func StartBusyLoop(t testing.TB, dir string) int {
	t.Helper()
	return StartInCgroup(t, dir, "/bin/sh", "-c", "while :; do :; done")
}

// StartInCgroup starts argv directly inside the cgroup dir and returns its
// PID; it is killed and reaped at cleanup.
func StartInCgroup(t testing.TB, dir string, argv ...string) int {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatalf("open cgroup %s: %v", dir, err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v in %s: %v", argv, dir, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}
