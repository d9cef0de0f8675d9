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
// there) with its own policy dir, state dir and API socket. Tests start
// one with StartQuelld; callers without a testing.TB (the benchmarks) with
// NewQuelld, SetPolicy and Launch.
type Quelld struct {
	Dir    string // holds policy.d/, state/, the socket and quelld.log
	Socket string
	Log    string
	Bin    string // the quelld to run: "quelld", the lab's on PATH, unless set
	Config string // the daemon config's TOML; "" runs on the defaults
	t      testing.TB
	cmd    *exec.Cmd
	args   []string
}

// StartQuelld writes policy to dir/policy.d/10-policy.toml and starts
// quelld on it, waiting (20 s at most) for its API socket. It is stopped
// with SIGTERM at cleanup, and its log tail is printed if the test failed.
// WritePolicy, Start and Stop fail the test t.
func StartQuelld(t testing.TB, dir, policy string, args ...string) *Quelld {
	t.Helper()
	q := NewQuelld(dir, args...)
	q.t = t
	t.Cleanup(func() {
		q.Stop()
		if t.Failed() {
			t.Logf("quelld log tail:\n%s", Tail(ReadFile(q.Log), 40))
		}
	})
	q.WritePolicy(policy)
	q.Start()
	return q
}

// NewQuelld returns a quelld in dir with extra flags args, not started.
func NewQuelld(dir string, args ...string) *Quelld {
	return &Quelld{Dir: dir, Socket: filepath.Join(dir, "quelld.sock"), Log: filepath.Join(dir, "quelld.log"), Bin: "quelld", args: args}
}

// SetPolicy replaces the policy file (a running quelld reloads on its own).
func (q *Quelld) SetPolicy(policy string) error {
	if err := os.MkdirAll(filepath.Join(q.Dir, "policy.d"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(q.Dir, "policy.d", "10-policy.toml"), []byte(policy), 0o644)
}

// Launch starts quelld (again), its output appended to Log, and waits up
// to within for its API socket. If the socket does not come, quelld is
// stopped and the error carries the log's last lines.
func (q *Quelld) Launch(within time.Duration) error {
	config := filepath.Join(q.Dir, "none.toml")
	if q.Config != "" {
		config = filepath.Join(q.Dir, "quelld.toml")
		if err := os.WriteFile(config, []byte(q.Config), 0o644); err != nil {
			return err
		}
	}
	log, err := os.OpenFile(q.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	all := append([]string{"--config", config, "--policy", filepath.Join(q.Dir, "policy.d"),
		"--state-dir", filepath.Join(q.Dir, "state"), "--socket", q.Socket, "--metrics", "off"}, q.args...)
	q.cmd = exec.Command(q.Bin, all...)
	q.cmd.Stdout, q.cmd.Stderr = log, log
	if err := q.cmd.Start(); err != nil {
		q.cmd = nil
		return fmt.Errorf("start quelld: %w", err)
	}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(q.Socket); err == nil {
			return nil
		}
	}
	_ = q.Terminate(5 * time.Second)
	return fmt.Errorf("quelld did not open %s within %v:\n%s", q.Socket, within, Tail(ReadFile(q.Log), 5))
}

// Terminate sends SIGTERM and waits up to within for quelld to stand down
// and exit; after that it is killed and the error says so. It does
// nothing when quelld is not running.
func (q *Quelld) Terminate(within time.Duration) error {
	if q.cmd == nil {
		return nil
	}
	defer func() { q.cmd = nil }()
	_ = q.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = q.cmd.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(within):
		_ = q.cmd.Process.Kill()
		<-done
		return fmt.Errorf("quelld did not stop within %v of SIGTERM", within)
	}
}

// Pid is quelld's process ID, 0 when it is not running.
func (q *Quelld) Pid() int {
	if q.cmd == nil {
		return 0
	}
	return q.cmd.Process.Pid
}

// WritePolicy is SetPolicy failing the test.
func (q *Quelld) WritePolicy(policy string) {
	q.t.Helper()
	if err := q.SetPolicy(policy); err != nil {
		q.t.Fatal(err)
	}
}

// Start is Launch within 20 s, failing the test.
func (q *Quelld) Start() {
	q.t.Helper()
	if err := q.Launch(20 * time.Second); err != nil {
		q.t.Fatal(err)
	}
}

// Stop is Terminate within 15 s; a quelld that had to be killed fails the
// test.
func (q *Quelld) Stop() {
	if err := q.Terminate(15 * time.Second); err != nil {
		q.t.Error(err)
	}
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
	if q.cmd == nil {
		return ""
	}
	for _, line := range strings.Split(ReadFile(fmt.Sprintf("/proc/%d/status", q.Pid())), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
