package labkit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Quelld is a quelld started from PATH (the lab puts the project's bin/
// there) with its own policy dir, state dir and API socket.
type Quelld struct {
	t      testing.TB
	cmd    *exec.Cmd
	Dir    string // holds policy.d/, state/, the socket and quelld.log
	Socket string
	Log    string
	args   []string
}

// StartQuelld writes policy to dir/policy.d/10-policy.toml and starts
// quelld on it, waiting (20 s at most) for its API socket. It is stopped
// with SIGTERM at cleanup, and its log tail is printed if the test failed.
func StartQuelld(t testing.TB, dir, policy string, args ...string) *Quelld {
	t.Helper()
	q := &Quelld{t: t, Dir: dir, Socket: filepath.Join(dir, "quelld.sock"), Log: filepath.Join(dir, "quelld.log"), args: args}
	q.WritePolicy(policy)
	q.Start()
	t.Cleanup(func() {
		q.Stop()
		if t.Failed() {
			t.Logf("quelld log tail:\n%s", Tail(ReadFile(q.Log), 40))
		}
	})
	return q
}

// WritePolicy replaces the policy file (quelld reloads on its own).
func (q *Quelld) WritePolicy(policy string) {
	q.t.Helper()
	if err := os.MkdirAll(filepath.Join(q.Dir, "policy.d"), 0o755); err != nil {
		q.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(q.Dir, "policy.d", "10-policy.toml"), []byte(policy), 0o644); err != nil {
		q.t.Fatal(err)
	}
}

// Start starts quelld (again).
func (q *Quelld) Start() {
	q.t.Helper()
	log, err := os.OpenFile(q.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		q.t.Fatal(err)
	}
	defer log.Close()
	all := append([]string{"--config", filepath.Join(q.Dir, "none.toml"), "--policy", filepath.Join(q.Dir, "policy.d"),
		"--state-dir", filepath.Join(q.Dir, "state"), "--socket", q.Socket, "--metrics", "off"}, q.args...)
	q.cmd = exec.Command("quelld", all...)
	q.cmd.Stdout, q.cmd.Stderr = log, log
	if err := q.cmd.Start(); err != nil {
		q.t.Fatalf("start quelld: %v", err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(q.Socket); err == nil {
			return
		}
	}
	q.t.Fatalf("quelld did not open %s within 20s:\n%s", q.Socket, Tail(ReadFile(q.Log), 30))
}

// Stop sends SIGTERM and waits (15 s at most, then SIGKILL and an error).
func (q *Quelld) Stop() {
	if q.cmd == nil {
		return
	}
	_ = q.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = q.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = q.cmd.Process.Kill()
		<-done
		q.t.Errorf("quelld did not stop within 15s of SIGTERM")
	}
	q.cmd = nil
}

// Quell runs the CLI against this quelld and returns its stdout; a
// non-zero exit is returned as an error carrying stdout and stderr.
func (q *Quelld) Quell(args ...string) (string, error) {
	cmd := exec.Command("quell", append([]string{"--socket", q.Socket}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("quell %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// Signal sends sig to the running quelld.
func (q *Quelld) Signal(sig os.Signal) error {
	if q.cmd == nil {
		return fmt.Errorf("quelld is not running")
	}
	return q.cmd.Process.Signal(sig)
}

// Kill9 kills quelld with SIGKILL, without letting it stand down.
func (q *Quelld) Kill9() {
	if q.cmd == nil {
		return
	}
	_ = q.cmd.Process.Kill()
	_ = q.cmd.Wait()
	q.cmd = nil
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Status returns a field of quelld's /proc/<pid>/status ("VmLck", "VmRSS"),
// "" when it is not running.
func (q *Quelld) Status(field string) string {
	if q.cmd == nil || q.cmd.Process == nil {
		return ""
	}
	for _, line := range strings.Split(ReadFile(fmt.Sprintf("/proc/%d/status", q.cmd.Process.Pid)), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
