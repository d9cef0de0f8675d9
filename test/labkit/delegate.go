package labkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// DelegateCgroup makes the cgroups rels below Root() (NewCgroup: removed at
// cleanup) and hands each to uid the way systemd's Delegate=yes does for a
// user's user@UID.service: the directory and its cgroup.procs,
// cgroup.subtree_control and cgroup.threads are chowned to uid:uid. It
// returns the absolute paths.
func DelegateCgroup(t testing.TB, uid int, rels ...string) []string {
	t.Helper()
	var dirs []string
	for _, rel := range rels {
		dir := NewCgroup(t, rel)
		for _, p := range []string{dir, filepath.Join(dir, "cgroup.procs"), filepath.Join(dir, "cgroup.subtree_control"),
			filepath.Join(dir, "cgroup.threads")} {
			if err := os.Chown(p, uid, uid); err != nil {
				t.Fatalf("delegate %s to uid %d: %v", p, uid, err)
			}
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

// StartAs starts the shell script as uid:uid (no supplementary groups)
// directly inside the cgroup dir (CLONE_INTO_CGROUP), its stdout and
// stderr to out; it is killed and reaped at cleanup.
func StartAs(t testing.TB, dir string, uid int, script string, out *SyncBuffer) *exec.Cmd {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatalf("open cgroup %s: %v", dir, err)
	}
	defer f.Close()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd()),
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start as uid %d in %s: %v", uid, dir, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// Says reports whether out holds the line want.
func Says(out *SyncBuffer, want string) bool {
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}
