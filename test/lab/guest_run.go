package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// guestRun prepares the guest (controllers, loopback, disks) and runs the
// job's command with its output on the second serial port, then records
// the exit status in the job dir. It is the same in both modes: PID 1's
// child in fast mode, quell-lab.service in systemd mode.
func guestRun(jobDir, outTTY string) error {
	j, err := readJob(jobDir)
	if err != nil {
		return err
	}
	out, err := openRawTTY(outTTY)
	if err != nil {
		return err
	}
	defer out.Close()
	env, err := prepareGuest(j)
	if err != nil {
		fmt.Fprintf(out, "quell-lab: guest setup failed: %v\n", err)
		return err
	}
	if j.Mode == modeSystemd {
		waitSystemRunning()
	}
	say("quell-lab: guest ready, running the command")
	cmd := exec.Command("/bin/sh", "-c", j.Command)
	cmd.Dir = "/root"
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	if err := os.MkdirAll(cmd.Dir, 0o700); err != nil {
		return err
	}
	if up, err := os.ReadFile("/proc/uptime"); err == nil {
		_ = os.WriteFile(filepath.Join(jobDir, "boot-seconds"), []byte(strings.Fields(string(up))[0]+"\n"), 0o644)
	}
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintf(out, "quell-lab: start command: %v\n", err)
			code = 127
		} else if code = ee.ExitCode(); code < 0 {
			code = 128 + int(ee.Sys().(unix.WaitStatus).Signal())
		}
	}
	// Wait until the UART has sent everything before the guest powers off.
	_ = unix.IoctlSetInt(int(out.Fd()), unix.TCSBRK, 1)
	return writeStatus(jobDir, code)
}

func writeStatus(dir string, code int) error {
	f, err := os.Create(filepath.Join(dir, statusFile))
	if err != nil {
		return fmt.Errorf("record exit status: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%d\n", code); err != nil {
		f.Close()
		return fmt.Errorf("record exit status: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("record exit status: %w", err)
	}
	return f.Close()
}

// openRawTTY opens the command's serial port with output post-processing
// off, so "\n" stays "\n" on the host.
func openRawTTY(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open command output port: %w", err)
	}
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err == nil {
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG
		err = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("set %s raw: %w", path, err)
	}
	return f, nil
}

// waitSystemRunning waits (bounded) until systemd finished booting, so the
// command sees a settled system; the state is logged on the console.
func waitSystemRunning() {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, _ := exec.CommandContext(ctx, "systemctl", "is-system-running", "--wait").CombinedOutput()
	fmt.Fprintf(os.Stderr, "quell-lab: system state before the command: %s\n", strings.TrimSpace(string(b)))
}
