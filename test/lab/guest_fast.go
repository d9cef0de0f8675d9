package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fastInit is PID 1 in fast mode: it mounts what systemd would (run, pts,
// shm, cgroup2), starts "lab guest-run" and reaps every orphan until that
// child exits, then powers off.
func fastInit() error {
	for _, m := range []struct{ src, dst, fs, data string }{
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
		{"devpts", "/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=666"},
		{"tmpfs", "/dev/shm", "tmpfs", "mode=1777"},
		{"cgroup2", "/sys/fs/cgroup", "cgroup2", "nsdelegate"},
	} {
		if err := mountAt(m.src, m.dst, m.fs, unix.MS_NOSUID, m.data); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(guestHostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	p, err := os.StartProcess(guestLabBin, []string{guestLabBin, "guest-run"}, &os.ProcAttr{
		Dir:   "/",
		Env:   []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		Files: []*os.File{nil, os.Stdout, os.Stderr},
	})
	if err != nil {
		return fmt.Errorf("start guest-run: %w", err)
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for guest-run: %w", err)
		}
		if pid == p.Pid {
			if ws.ExitStatus() != 0 {
				fmt.Fprintf(os.Stderr, "quell-lab init: guest-run exited with %v\n", ws)
			}
			powerOff()
		}
	}
}
