package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// quelldRun is a quelld started by a case with its own policy, state dir
// and socket, stopped with SIGTERM.
type quelldRun struct {
	cmd *exec.Cmd
	dir string
	log string
}

// startQuelld writes policy and a daemon config (extra TOML lines) into a
// fresh dir and starts env.Quelld, waiting until its socket exists.
// loop returns quelld's loop status from its API.
func (q *quelldRun) loop() (view.LoopStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := api.NewClient(filepath.Join(q.dir, "quelld.sock")).View(ctx)
	if err != nil {
		return view.LoopStatus{}, err
	}
	return v.Loop, nil
}

func startQuelld(env Env, policy, config string) (*quelldRun, error) {
	dir, err := os.MkdirTemp("", "quell-bench-quelld-")
	if err != nil {
		return nil, err
	}
	q := &quelldRun{dir: dir, log: filepath.Join(dir, "quelld.log")}
	if err := q.writePolicy(policy); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "quelld.toml"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	log, err := os.Create(q.log)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	sock := filepath.Join(dir, "quelld.sock")
	q.cmd = exec.Command(env.Quelld, "--config", filepath.Join(dir, "quelld.toml"), "--policy", filepath.Join(dir, "policy.d"),
		"--state-dir", filepath.Join(dir, "state"), "--socket", sock, "--metrics", "off")
	q.cmd.Stdout, q.cmd.Stderr = log, log
	if err := q.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start quelld: %w", err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return q, nil
		}
	}
	q.stop()
	return nil, fmt.Errorf("quelld did not open its socket in 30s: %s", labkit.Tail(labkit.ReadFile(q.log), 5))
}

func (q *quelldRun) writePolicy(policy string) error {
	if err := os.MkdirAll(filepath.Join(q.dir, "policy.d"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(q.dir, "policy.d", "10-bench.toml"), []byte(policy), 0o644)
}

func (q *quelldRun) hup() error { return q.cmd.Process.Signal(syscall.SIGHUP) }

func (q *quelldRun) stop() {
	if q.cmd == nil || q.cmd.Process == nil {
		return
	}
	_ = q.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = q.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = q.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(q.dir)
	q.cmd = nil
}

// cpuTime is quelld's user+system CPU time so far (/proc/PID/stat, ticks
// of 1/100 s) and its VmRSS in bytes.
func (q *quelldRun) cpuTime(procRoot string) (time.Duration, uint64, error) {
	pid := strconv.Itoa(q.cmd.Process.Pid)
	b, err := os.ReadFile(filepath.Join(procRoot, pid, "stat"))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc/PID/stat")
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	var rss uint64
	st2, _ := os.ReadFile(filepath.Join(procRoot, pid, "status"))
	for _, l := range strings.Split(string(st2), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseUint(strings.Fields(l)[1], 10, 64)
			rss = kb << 10
		}
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, rss, nil
}

// waitFor polls cond every step until it holds or within passes.
func waitFor(within, step time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(step) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
