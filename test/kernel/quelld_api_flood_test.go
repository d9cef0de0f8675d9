//go:build lab

// A reader of quelld's API cannot exhaust quelld's file descriptors or
// stall its loop (issue #12 item 6). An unprivileged uid (1000, given the
// socket's group as a member of group quell would be) opens 2000
// connections and holds them, half of them sending a request header that
// never ends (slowloris). quelld must keep its open file descriptors
// bounded, keep ticking, and answer root's `quell status`.
package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

const floodConns = 2000

func TestQuelldAPIFloodKeepsFDsBoundedAndLoopTicking(t *testing.T) {
	labkit.Require(t)
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "flood-web"})
	q := startQuelld(t, fmt.Sprintf(`
[[tenant]]
name = "flood"
  [tenant.match]
  cgroups = [%q]
  [tenant.container]
  memory = "256MiB"
`, strings.TrimPrefix(c.Cgroup, "/")))
	waitFile(t, filepath.Join(c.CgroupDir, "memory.max"), "268435456", 10*time.Second)
	// The socket's group is gid 1000: uid 1000 with gid 1000 may connect,
	// as a member of group quell may.
	if err := os.Chown(q.socket, 0, 1000); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{q.dir, filepath.Dir(q.dir)} { // t.TempDir()s are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lim := unix.Rlimit{Cur: 3 * floodConns, Max: 3 * floodConns}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	pid := q.Pid()
	fdsBefore := countFDs(t, pid)

	// The flood, from a thread running as uid/gid 1000. The goroutine
	// ends with its thread locked, so the thread (and its credentials)
	// die with it; the fds stay open in this process until closed below.
	type flood struct {
		fds      []int
		slow     int
		err      error
		duration time.Duration
	}
	done := make(chan flood, 1)
	go func() {
		runtime.LockOSThread()
		var f flood
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, 1000, 1000, 1000); e != 0 {
			f.err = fmt.Errorf("setresgid: %w", e)
			done <- f
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 1000, 1000, 1000); e != 0 {
			f.err = fmt.Errorf("setresuid: %w", e)
			done <- f
			return
		}
		start := time.Now()
		addr := &unix.SockaddrUnix{Name: q.socket}
		for len(f.fds) < floodConns && time.Since(start) < 60*time.Second {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
			if err != nil {
				f.err = fmt.Errorf("socket after %d: %w", len(f.fds), err)
				break
			}
			err = unix.Connect(fd, addr)
			if errors.Is(err, unix.EAGAIN) { // backlog full: quelld is behind
				unix.Close(fd)
				time.Sleep(time.Millisecond)
				continue
			}
			if err != nil {
				unix.Close(fd)
				f.err = fmt.Errorf("connect after %d: %w", len(f.fds), err)
				break
			}
			if len(f.fds)%2 == 1 { // slowloris: a header that never ends
				if _, err := unix.Write(fd, []byte("GET /v1/view HTTP/1.1\r\nHost: quelld\r\nX-Slow: ")); err == nil {
					f.slow++
				}
			}
			f.fds = append(f.fds, fd)
		}
		f.duration = time.Since(start)
		done <- f
	}()

	// Sample quelld's fds while the flood runs and is held.
	peak := fdsBefore
	var f flood
	sampling := true
	for sampling {
		select {
		case f = <-done:
			sampling = false
		case <-time.After(50 * time.Millisecond):
			peak = max(peak, countFDs(t, pid))
		}
	}
	defer func() {
		for _, fd := range f.fds {
			unix.Close(fd)
		}
	}()
	if f.err != nil {
		t.Fatalf("flood: %v", f.err)
	}
	v0 := floodView(t, q)
	statusStart := time.Now()
	out, err := exec.Command("quell", "--socket", q.socket, "status").CombinedOutput()
	statusTook := time.Since(statusStart)
	for i := 0; i < 20; i++ {
		peak = max(peak, countFDs(t, pid))
		time.Sleep(100 * time.Millisecond)
	}
	v1 := floodView(t, q)
	t.Logf("FIGURE api-flood %d connections opened by uid 1000 in %v (%d slowloris); quelld fds before %d, peak %d; root's quell status answered in %v; loop ticks %d → %d over %v",
		len(f.fds), f.duration.Round(time.Millisecond), f.slow, fdsBefore, peak, statusTook.Round(time.Millisecond),
		v0.Loop.Ticks, v1.Loop.Ticks, v1.Time.Sub(v0.Time).Round(time.Millisecond))
	if !strings.Contains(string(out), "quelld:     running") { // exit 1 only says the last pass had errors
		t.Errorf("quell status under the flood: %v\n%s", err, out)
	}
	if statusTook > 5*time.Second {
		t.Errorf("quell status took %v under the flood", statusTook)
	}
	if peak > fdsBefore+100 {
		t.Errorf("quelld held %d fds under a flood of %d connections (%d before): not bounded", peak, len(f.fds), fdsBefore)
	}
	if v1.Loop.Ticks <= v0.Loop.Ticks {
		t.Errorf("the loop did not tick under the flood: ticks %d → %d", v0.Loop.Ticks, v1.Loop.Ticks)
	}
	// The slowloris headers time out: quelld closes them (read sees EOF).
	time.Sleep(7 * time.Second)
	closed := 0
	for _, fd := range f.fds {
		n, err := unix.Read(fd, make([]byte, 1))
		if n == 0 && err == nil || errors.Is(err, unix.ECONNRESET) {
			closed++
		}
	}
	t.Logf("FIGURE api-flood %d of %d held connections closed by quelld after 7 s; fds now %d", closed, len(f.fds), countFDs(t, pid))
	if closed < len(f.fds)-1 {
		t.Errorf("only %d of %d flood connections were closed by quelld", closed, len(f.fds))
	}
}

func countFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("quelld's fds: %v", err)
	}
	return len(ents)
}

func floodView(t *testing.T, q *quelld) view.View {
	t.Helper()
	out, err := exec.Command("quell", "--socket", q.socket, "status", "--json").Output()
	var v view.View
	if jerr := json.Unmarshal(out, &v); jerr != nil {
		t.Fatalf("quell status --json: %v %v\n%s", err, jerr, out)
	}
	return v
}
