//go:build lab

package kernel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/test/labkit"
)

// e2eModeEnv selects a child mode of this test binary for the quelld tests.
const e2eModeEnv = "QUELL_KTEST_E2E_MODE"

func init() {
	switch os.Getenv(e2eModeEnv) {
	case "":
		return
	case "victim":
		victim()
		os.Exit(0)
	}
}

// victim is a latency-sensitive service: a request arrives every 5 ms and
// takes a fixed amount of CPU work; it prints each request's latency
// (arrival to completion, µs) on a line, until killed.
func victim() {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	next := time.Now()
	x := uint64(1)
	for i := 0; ; i++ {
		next = next.Add(5 * time.Millisecond)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		for j := 0; j < 20000; j++ { // ~100-300 µs of work under TCG
			x = x*6364136223846793005 + 1442695040888963407
		}
		fmt.Fprintf(w, "%d %d\n", time.Now().UnixMicro(), time.Since(next).Microseconds())
		if i%50 == 0 {
			w.Flush()
		}
	}
}

// quelld is a running quelld under test.
type quelld struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	socket string
	log    string
}

// startQuelld writes policy into a fresh policy dir and starts bin/quelld
// (on the lab's PATH) with its own state dir and socket. It is stopped with
// SIGTERM at cleanup.
func startQuelld(t *testing.T, policy string, args ...string) *quelld {
	t.Helper()
	dir := t.TempDir()
	q := &quelld{t: t, dir: dir, socket: filepath.Join(dir, "quelld.sock"), log: filepath.Join(dir, "quelld.log")}
	q.writePolicy(policy)
	q.start(args...)
	t.Cleanup(func() {
		q.stop()
		if t.Failed() {
			t.Logf("quelld log tail:\n%s", tail(labkit.ReadFile(q.log), 40))
		}
	})
	return q
}

func (q *quelld) writePolicy(policy string) {
	q.t.Helper()
	if err := os.MkdirAll(filepath.Join(q.dir, "policy.d"), 0o755); err != nil {
		q.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(q.dir, "policy.d", "10-test.toml"), []byte(policy), 0o644); err != nil {
		q.t.Fatal(err)
	}
}

func (q *quelld) start(args ...string) {
	q.t.Helper()
	log, err := os.OpenFile(q.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		q.t.Fatal(err)
	}
	defer log.Close()
	all := append([]string{"--config", filepath.Join(q.dir, "none.toml"), "--policy", filepath.Join(q.dir, "policy.d"),
		"--state-dir", filepath.Join(q.dir, "state"), "--socket", q.socket, "--metrics", "off"}, args...)
	q.cmd = exec.Command("quelld", all...)
	q.cmd.Stdout, q.cmd.Stderr = log, log
	if err := q.cmd.Start(); err != nil {
		q.t.Fatalf("start quelld: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(q.socket); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	q.t.Fatalf("quelld did not open %s within 20s:\n%s", q.socket, tail(labkit.ReadFile(q.log), 30))
}

func (q *quelld) stop() {
	if q.cmd == nil || q.cmd.Process == nil {
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

// kill9 kills quelld without letting it stand down.
func (q *quelld) kill9() {
	_ = q.cmd.Process.Kill()
	_ = q.cmd.Wait()
	q.cmd = nil
}

// quell runs the CLI against this quelld and returns stdout.
func (q *quelld) quell(args ...string) string {
	q.t.Helper()
	cmd := exec.Command("quell", append([]string{"--socket", q.socket}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		q.t.Fatalf("quell %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func (q *quelld) view() enforcer.View {
	q.t.Helper()
	var v enforcer.View
	out := q.quell("top", "--once", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		q.t.Fatalf("quell top --once --json: %v\n%s", err, out)
	}
	return v
}

func (q *quelld) events() []enforcer.Event {
	q.t.Helper()
	var evs []enforcer.Event
	out := q.quell("events", "--json", "--limit", "1000")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var ev enforcer.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			// Also accept a JSON array.
			if err2 := json.Unmarshal([]byte(out), &evs); err2 == nil {
				return evs
			}
			q.t.Fatalf("quell events --json: %v\n%s", err, out)
		}
		evs = append(evs, ev)
	}
	return evs
}

// waitFile waits until path holds want (trimmed) and returns how long it took.
func waitFile(t *testing.T, path, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := strings.TrimSpace(labkit.ReadFile(path))
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s = %q after %v, want %q", path, got, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpuOver measures the CPUs used by the cgroup dirs together over d, from
// cpu.stat usage_usec.
func cpuOver(t *testing.T, d time.Duration, dirs ...string) (total float64, each []float64) {
	t.Helper()
	before := make([]time.Duration, len(dirs))
	for i, dir := range dirs {
		u, err := labkit.CPUUsage(dir)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = u
	}
	start := time.Now()
	time.Sleep(d)
	el := time.Since(start).Seconds()
	each = make([]float64, len(dirs))
	for i, dir := range dirs {
		u, err := labkit.CPUUsage(dir)
		if err != nil {
			t.Fatal(err)
		}
		each[i] = (u - before[i]).Seconds() / el
		total += each[i]
	}
	return total, each
}

// hexID is a random 64-hex container ID with a fixed prefix (for globs).
func hexID(prefix string) string {
	const digits = "0123456789abcdef"
	b := []byte(prefix)
	for len(b) < 64 {
		b = append(b, digits[rand.Intn(16)])
	}
	return string(b)
}

func busyArgs(n int) []string {
	if n == 1 {
		return []string{"sh", "-c", "while :; do :; done"}
	}
	return []string{"sh", "-c", fmt.Sprintf("for i in $(seq %d); do (while :; do :; done) & done; wait", n)}
}

// latencies reads "unixµs latencyµs" lines of a victim between from and to.
func latencies(out string, from, to time.Time) []float64 {
	var ls []float64
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		at, err1 := strconv.ParseInt(f[0], 10, 64)
		l, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		ts := time.UnixMicro(at)
		if ts.After(from) && ts.Before(to) {
			ls = append(ls, l)
		}
	}
	return ls
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
