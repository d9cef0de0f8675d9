//go:build lab

package kernel

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// noisyModeEnv selects a child mode of this test binary for the noisy
// neighbour tests (antagonists and victims that are not busybox).
const noisyModeEnv = "QUELL_KTEST_NOISY_MODE"

func init() {
	switch os.Getenv(noisyModeEnv) {
	case "":
		return
	case "memhog":
		memHog()
	case "memvictim":
		memVictim()
	case "iostorm":
		ioStorm()
	default:
		fmt.Fprintf(os.Stderr, "unknown %s %q\n", noisyModeEnv, os.Getenv(noisyModeEnv))
		os.Exit(2)
	}
	os.Exit(0)
}

// memHog allocates QUELL_KTEST_HOG_MIB MiB in 8 MiB chunks (as fast as the
// guest allows), touching every page, then keeps re-touching all of it
// forever: once the set does not fit in RAM it thrashes swap and the whole
// host stalls on memory. It prints "allocated N" as it goes.
func memHog() {
	total, _ := strconv.Atoi(os.Getenv("QUELL_KTEST_HOG_MIB"))
	const chunk = 8 << 20
	var chunks [][]byte
	for len(chunks)*8 < total {
		b, err := unix.Mmap(-1, 0, chunk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			fmt.Println("mmap:", err)
			break
		}
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		chunks = append(chunks, b)
		if len(chunks)%16 == 0 {
			fmt.Println("allocated", len(chunks)*8)
		}
	}
	fmt.Println("allocated", len(chunks)*8, "done")
	for n := byte(2); ; n++ {
		for _, b := range chunks {
			for i := 0; i < len(b); i += 4096 {
				b[i] = n
			}
		}
	}
}

// memVictim holds 64 MiB and sweeps it every 100 ms, printing
// "unixµs sweepµs" per sweep (how long touching its own memory took).
func memVictim() {
	b, err := unix.Mmap(-1, 0, 64<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for n := byte(1); ; n++ {
		start := time.Now()
		for i := 0; i < len(b); i += 4096 {
			b[i] = n
		}
		fmt.Fprintf(w, "%d %d\n", time.Now().UnixMicro(), time.Since(start).Microseconds())
		w.Flush()
		time.Sleep(100 * time.Millisecond)
	}
}

// ioStorm writes 1 MiB blocks with O_DIRECT to QUELL_KTEST_IO_FILE, over
// and over across a 128 MiB region, forever.
func ioStorm() {
	f, err := os.OpenFile(os.Getenv("QUELL_KTEST_IO_FILE"), os.O_CREATE|os.O_WRONLY|syscall.O_DIRECT, 0o644)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	buf, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	for i := range buf {
		buf[i] = byte(i)
	}
	for off := int64(0); ; off = (off + 1<<20) % (128 << 20) {
		if _, err := f.WriteAt(buf, off); err != nil {
			fmt.Println("write:", err)
			os.Exit(1)
		}
	}
}

// noisyChild is this test binary running a noisy mode inside a cgroup.
type noisyChild struct {
	cmd  *exec.Cmd
	out  *labkit.SyncBuffer
	done chan struct{}
	err  error
}

// startChild runs this test binary in mode inside the cgroup dir (clone3
// into the cgroup), with extra env. It is killed at cleanup.
func startChild(t *testing.T, dir, mode string, env ...string) *noisyChild {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &noisyChild{out: &labkit.SyncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0])
	c.cmd.Env = append(append(os.Environ(), noisyModeEnv+"="+mode), env...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s in %s: %v", mode, dir, err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.done })
	return c
}

func (c *noisyChild) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// memEvents reads a memory.events counter ("oom_kill", "high", …); -1 when
// unreadable.
func memEvent(dir, key string) int64 {
	for _, line := range strings.Split(labkit.ReadFile(filepath.Join(dir, "memory.events")), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// hostPSI returns avg10 of "some" (or "full") in /proc/pressure/<res>.
func hostPSI(res, kind string) float64 {
	for _, line := range strings.Split(labkit.ReadFile("/proc/pressure/"+res), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == kind {
			if v, ok := strings.CutPrefix(f[1], "avg10="); ok {
				x, _ := strconv.ParseFloat(v, 64)
				return x
			}
		}
	}
	return -1
}

// meminfo returns a /proc/meminfo field in bytes.
func meminfo(key string) int64 {
	for _, line := range strings.Split(labkit.ReadFile("/proc/meminfo"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == key+":" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v << 10
		}
	}
	return -1
}

// watch polls fn every 50 ms until it is true or within passes; it returns
// the time it became true (zero if never).
func watch(within time.Duration, fn func() bool) time.Time {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if fn() {
			return time.Now()
		}
	}
	return time.Time{}
}

// psiCrossing records, in the background, the first time avg10 of
// /proc/pressure/res "some" goes above limit.
type psiCrossing struct {
	mu sync.Mutex
	at time.Time
}

func watchPSI(t *testing.T, res string, limit float64) *psiCrossing {
	p := &psiCrossing{}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if hostPSI(res, "some") > limit {
				p.mu.Lock()
				if p.at.IsZero() {
					p.at = time.Now()
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *psiCrossing) time() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at
}

// eventsFor returns the events on target (a container ID), in order.
func eventsFor(evs []view.Event, target string) []view.Event {
	var out []view.Event
	for _, ev := range evs {
		if ev.Target == target {
			out = append(out, ev)
		}
	}
	return out
}

// firstEvent returns the first event of kind on target, or false.
func firstEvent(evs []view.Event, target, kind string) (view.Event, bool) {
	for _, ev := range eventsFor(evs, target) {
		if ev.Kind == kind {
			return ev, true
		}
	}
	return view.Event{}, false
}

// noActionOn fails the test if anything but limit/restore events names a
// cgroup containing marker.
func noActionOn(t *testing.T, evs []view.Event, marker string) {
	t.Helper()
	for _, ev := range evs {
		if strings.Contains(ev.Cgroup, marker) && ev.Kind != "limit" && ev.Kind != "restore" {
			t.Errorf("the guaranteed victim was acted on: %+v", ev)
		}
	}
}

// idOfCgroup is the container ID in a docker-<id>.scope cgroup path.
func idOfCgroup(dir string) string {
	b := filepath.Base(dir)
	return strings.TrimSuffix(strings.TrimPrefix(b, "docker-"), ".scope")
}

func logEvents(t *testing.T, q *quelld) {
	t.Helper()
	t.Logf("quell events:\n%s", q.quell("events"))
}
