package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary runs itself as `quell top` on a real pseudo-terminal
// (its controlling terminal, so the kernel sends SIGWINCH) with Main's
// defaults: cbreak on stdin, size by ioctl, SIGWINCH.
const topHelperEnv = "QUELL_TEST_TOP_SOCKET"

func TestMain(m *testing.M) {
	if sock := os.Getenv(topHelperEnv); sock != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, []string{"top", "--interval", "1h", "--socket", sock}, os.Stdout, os.Stderr, Options{})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// screen collects what the child writes to the terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.buf.String() }

func (s *screen) waitFor(t *testing.T, what string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(s.String(), what) {
			return
		}
	}
	t.Fatalf("the terminal never showed %q; it shows:\n%q", what, s.String())
}

func startTopOnPTY(t *testing.T, cols, rows uint16) (*exec.Cmd, *os.File, *os.File, *screen) {
	t.Helper()
	sock := serve(t, fixtureSource())
	pts, ptmx := openPTY(t)
	if err := unix.IoctlSetWinsize(int(ptmx.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), topHelperEnv+"="+sock)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	scr := &screen{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			scr.mu.Lock()
			scr.buf.Write(b[:n])
			scr.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return cmd, pts, ptmx, scr
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		t.Fatal("quell top did not exit within 20s")
		return -1
	}
}

func TestTopOnPTYResizeKeysRestore(t *testing.T) {
	t.Parallel()
	cmd, pts, ptmx, scr := startTopOnPTY(t, 120, 30)
	scr.waitFor(t, "sort cpu (keys")
	during, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if during.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Errorf("top runs with the terminal still canonical/echoing: lflag %#x", during.Lflag)
	}
	// The kernel sends SIGWINCH on a resize: the frame follows the height.
	if err := unix.IoctlSetWinsize(int(ptmx.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: 80, Row: 5}); err != nil {
		t.Fatal(err)
	}
	scr.waitFor(t, "… 3 more rows below: the terminal has 5 rows")
	ptmx.Write([]byte("m"))
	scr.waitFor(t, "sort mem (keys")
	ptmx.Write([]byte("q"))
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("q: exit %d", code)
	}
	after, _ := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if after.Lflag&unix.ICANON == 0 || after.Lflag&unix.ECHO == 0 {
		t.Errorf("terminal not restored after q: lflag %#x", after.Lflag)
	}
	// The last bytes may still be in the pty after the process is gone.
	for deadline := time.Now().Add(5 * time.Second); !strings.HasSuffix(scr.String(), altScreenOff) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if out := scr.String(); !strings.HasSuffix(out, altScreenOff) {
		t.Errorf("the alternate screen was not left: ends %q", out[max(0, len(out)-40):])
	}
	t.Logf("FIGURE top-pty: %d bytes drawn in all (first frame 120x30, SIGWINCH to 80x5, key m, key q)", len(scr.String()))
}

// SIGTERM and Ctrl-C (ISIG stays on: the terminal sends SIGINT) restore
// the terminal too.
func TestTopOnPTYSignalsRestore(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"SIGTERM", "Ctrl-C"} {
		cmd, pts, ptmx, scr := startTopOnPTY(t, 100, 40)
		scr.waitFor(t, "sort cpu (keys")
		if how == "SIGTERM" {
			cmd.Process.Signal(syscall.SIGTERM)
		} else {
			ptmx.Write([]byte{0x03})
		}
		if code := waitExit(t, cmd); code != 0 {
			t.Errorf("%s: exit %d", how, code)
		}
		after, _ := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
		if after.Lflag&unix.ICANON == 0 || after.Lflag&unix.ECHO == 0 {
			t.Errorf("%s: terminal not restored: lflag %#x", how, after.Lflag)
		}
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(scr.String(), altScreenOff) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if out := scr.String(); !strings.Contains(out, altScreenOff) {
			t.Errorf("%s: the alternate screen was not left", how)
		}
	}
}
