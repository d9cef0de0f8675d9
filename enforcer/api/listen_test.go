package api

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestListenModeAndGroup(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run", "q.sock") // parent created
	l, err := Listen(path, "root")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("mode = %v, want socket 0660", fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Gid != 0 {
		t.Errorf("gid = %d, want group root (0)", st.Gid)
	}
}

func TestListenMissingGroupStillListens(t *testing.T) {
	t.Parallel()
	l, err := Listen(filepath.Join(t.TempDir(), "q.sock"), "no-such-group-quell-test")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestListenRemovesStaleSocket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "q.sock")
	// A socket file nobody listens on: what a killed quelld leaves.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket not there: %v", err)
	}
	l, err := Listen(path, "")
	if err != nil {
		t.Fatalf("Listen over stale socket: %v", err)
	}
	l.Close()
}

func TestListenRefusesLiveSocketAndOtherFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	l, err := Listen(live, "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := Listen(live, ""); err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Errorf("second Listen on a live socket: err = %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file, ""); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen on a regular file: err = %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("regular file was touched")
	}
}
