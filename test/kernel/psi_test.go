//go:build lab

// Real-kernel tests of limits' PSI triggers. They run inside the lab VM
// (cgroup v2 at /sys/fs/cgroup, PSI enabled). Busy loops are this test
// binary re-executed in a child mode (see psiInit), pinned to CPU 0 and
// started directly inside a scratch cgroup (SysProcAttr.CgroupFD).
//
// Each latency test logs "FIGURE psi-trigger <file> latency=… window=…":
// the time from starting the contention to the first event.
package kernel

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/limits"
)

const psiChildEnv = "QUELL_KTEST_PSI_CHILD" // "spin": pin to CPU 0 and spin

func init() {
	if os.Getenv(psiChildEnv) != "spin" {
		return
	}
	var set unix.CPUSet
	set.Set(0)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		fmt.Fprintf(os.Stderr, "psi child: affinity: %v\n", err)
		os.Exit(3)
	}
	for {
	}
}

// psiCgroup creates a scratch cgroup with the cpu controller, removed at
// the end of the test (after its processes are killed).
func psiCgroup(t *testing.T, cpuMax string) string {
	t.Helper()
	root := "/sys/fs/cgroup"
	sc, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	if err != nil {
		t.Fatalf("cgroup v2 root: %v", err)
	}
	if !strings.Contains(" "+strings.TrimSpace(string(sc))+" ", " cpu ") {
		if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
			t.Fatalf("enable cpu controller: %v", err)
		}
	}
	dir := filepath.Join(root, fmt.Sprintf("quell-psi-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { psiRemove(t, dir) })
	if cpuMax != "" {
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(cpuMax), 0); err != nil {
			t.Fatalf("cpu.max: %v", err)
		}
	}
	return dir
}

// psiRemove kills what is left in dir and removes it; a cgroup already gone
// is fine.
func psiRemove(t *testing.T, dir string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(procs)) {
			var pid int
			fmt.Sscan(f, &pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			t.Errorf("remove %s: %v", dir, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// psiSpin starts n busy loops pinned to CPU 0 inside dir and kills them at
// the end of the test.
func psiSpin(t *testing.T, dir string, n int) {
	t.Helper()
	cg, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	for range n {
		cmd := exec.Command("/proc/self/exe")
		cmd.Env = append(os.Environ(), psiChildEnv+"=spin")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start busy loop in %s: %v", dir, err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
}

// psiLatency arms a trigger on file, starts the contention and returns how
// long the first event took.
func psiLatency(t *testing.T, file, line string, window time.Duration, contend func()) time.Duration {
	t.Helper()
	tr, err := limits.NewTrigger(file, line)
	if err != nil {
		t.Fatalf("NewTrigger(%s, %q): %v", file, line, err)
	}
	defer tr.Close()
	// Let a quiet window pass so an event already pending (host noise) is
	// not counted; drain it.
	time.Sleep(window + 100*time.Millisecond)
	select {
	case <-tr.Events():
	default:
	}
	start := time.Now()
	contend()
	limit := time.Second + 2*window
	select {
	case ev, ok := <-tr.Events():
		if !ok {
			t.Fatalf("trigger ended: %v", tr.Err())
		}
		return ev.At.Sub(start)
	case <-time.After(limit + 2*time.Second):
		t.Fatalf("no event within %v of starting the contention", limit+2*time.Second)
	}
	return 0
}

func TestPSITriggerCgroupCPU(t *testing.T) {
	dir := psiCgroup(t, "20000 100000") // 0.2 CPU
	window := time.Second
	file := filepath.Join(dir, "cpu.pressure")
	lat := psiLatency(t, file, "some 100000 1000000", window, func() { psiSpin(t, dir, 2) })
	t.Logf("FIGURE psi-trigger cgroup-cpu.pressure latency=%v window=%v stall=100ms cpu.max=0.2", lat.Round(time.Millisecond), window)
	if lat > time.Second+window {
		t.Errorf("first event %v after contention started, want ≤ 1s + window (%v)", lat, time.Second+window)
	}
	p, err := limits.ReadPSI(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cpu.pressure after: some avg10=%.2f full=%v", p.Some.Avg10, p.HasFull)
	if p.Some.Total == 0 {
		t.Errorf("cpu.pressure total stall is 0 under contention")
	}
}

func TestPSITriggerHostCPU(t *testing.T) {
	dir := psiCgroup(t, "")
	window := time.Second
	lat := psiLatency(t, "/proc/pressure/cpu", "some 100000 1000000", window, func() { psiSpin(t, dir, 3) })
	t.Logf("FIGURE psi-trigger /proc/pressure/cpu latency=%v window=%v stall=100ms", lat.Round(time.Millisecond), window)
	if lat > time.Second+window {
		t.Errorf("first event %v after contention started, want ≤ 1s + window (%v)", lat, time.Second+window)
	}
}

func TestPSITriggerCgroupRemoved(t *testing.T) {
	dir := psiCgroup(t, "")
	tr, err := limits.NewTrigger(filepath.Join(dir, "cpu.pressure"), "some 100000 1000000")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	start := time.Now()
	if err := os.Remove(dir); err != nil {
		t.Fatalf("rmdir with an armed trigger: %v", err)
	}
	for {
		select {
		case _, ok := <-tr.Events():
			if ok {
				continue // a POLLPRI that raced the removal
			}
			err := tr.Err()
			t.Logf("FIGURE psi-trigger cgroup-removed ended-after=%v err=%v", time.Since(start).Round(time.Millisecond), err)
			if !errors.Is(err, limits.ErrTriggerGone) {
				t.Fatalf("Err() = %v, want ErrTriggerGone", err)
			}
			return
		case <-time.After(3 * time.Second):
			t.Fatal("watcher still running 3s after the cgroup was removed")
		}
	}
}

func TestPSITriggerSecondOnSameFileAndClose(t *testing.T) {
	dir := psiCgroup(t, "")
	file := filepath.Join(dir, "memory.pressure")
	if _, err := os.Stat(file); err != nil {
		file = filepath.Join(dir, "cpu.pressure")
	}
	a, err := limits.NewTrigger(file, "some 150000 1000000")
	if err != nil {
		t.Fatal(err)
	}
	// Each open file description holds its own trigger: a second one works.
	b, err := limits.NewTrigger(file, "full 150000 2000000")
	if err != nil {
		t.Fatalf("second trigger on another fd: %v", err)
	}
	for _, tr := range []*limits.Trigger{a, b} {
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-tr.Done():
		default:
			t.Fatal("Close returned with the watcher running")
		}
		if tr.Err() != nil {
			t.Fatalf("Err after Close = %v", tr.Err())
		}
	}
}
