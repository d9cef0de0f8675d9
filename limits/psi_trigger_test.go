package limits

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/internal/testenv"
)

func TestCheckTriggerLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"some 150000 1000000", "some 150000 1000000\n", true},
		{"full 500000 2000000\n", "full 500000 2000000\n", true},
		{"  some   1 500000  ", "some 1 500000\n", true},
		{"some 150000", "", false},
		{"both 150000 1000000", "", false},
		{"some 0 1000000", "", false},
		{"some 2000000 1000000", "", false}, // stall > window
		{"some 100 499999", "", false},      // window < 500ms
		{"some 100 10000001", "", false},    // window > 10s
		{"some -1 1000000", "", false},
		{"some 1.5 1000000", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := checkTriggerLine(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("checkTriggerLine(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrTriggerSpec) {
			t.Errorf("checkTriggerLine(%q) error %v does not wrap ErrTriggerSpec", tt.in, err)
		}
	}
}

func TestNewTriggerBadSpecOpensNothing(t *testing.T) {
	t.Parallel()
	if _, err := NewTrigger("/nonexistent/cpu.pressure", "some 1 1"); !errors.Is(err, ErrTriggerSpec) {
		t.Fatalf("err = %v, want ErrTriggerSpec before open", err)
	}
	if _, err := NewTrigger(t.TempDir()+"/cpu.pressure", "some 150000 1000000"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

// A pipe's write end whose reader is closed polls as POLLERR, like a
// pressure file of a removed cgroup.
func TestTriggerEndsWithTypedErrorOnPOLLERR(t *testing.T) {
	t.Parallel()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[0])
	tr, err := watchFD("pipe", p[1], time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	select {
	case _, ok := <-tr.Events():
		if ok {
			t.Fatal("got an event, want the channel closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher did not end on POLLERR")
	}
	var te *TriggerError
	if err := tr.Err(); !errors.Is(err, ErrTriggerGone) || !errors.As(err, &te) || te.Path != "pipe" {
		t.Fatalf("Err() = %v, want *TriggerError matching ErrTriggerGone", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("Close after the watcher ended: %v", err)
	}
}

func TestTriggerCloseStopsWatcher(t *testing.T) {
	t.Parallel()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	tr, err := watchFD("pipe", p[0], time.Now)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // let it block in poll
	if tr.Err() != nil {
		t.Fatalf("Err() while running = %v", tr.Err())
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.Done():
	default:
		t.Fatal("Close returned before the watcher ended")
	}
	if _, ok := <-tr.Events(); ok {
		t.Fatal("Events not closed after Close")
	}
	if err := tr.Err(); err != nil {
		t.Fatalf("Err() after Close = %v, want nil", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Out-of-band data on a unix stream socket polls as POLLPRI, like a fired
// trigger (needs CONFIG_AF_UNIX_OOB, Linux 5.15+).
func TestTriggerDeliversPOLLPRI(t *testing.T) {
	t.Parallel()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sp[1])
	if err := unix.Sendto(sp[1], []byte{'!'}, unix.MSG_OOB, nil); err != nil {
		unix.Close(sp[0])
		testenv.SkipUnlessCI(t, "no AF_UNIX OOB on this kernel: %v", err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, err := watchFD("sock", sp[0], func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-tr.Events():
		if !ev.At.Equal(at) {
			t.Fatalf("event at %v, want %v", ev.At, at)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event on POLLPRI")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTriggerNoGoroutineLeak(t *testing.T) {
	// Not parallel: counts goroutines.
	before := runtime.NumGoroutine()
	for range 20 {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		tr, err := watchFD("pipe", p[0], time.Now)
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
		unix.Close(p[1])
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after closing 20 triggers, %d before", n, before)
	}
}

// On a host with PSI and the right to arm triggers, arming and disarming
// /proc/pressure/cpu works. Events depend on host load and are covered by
// test/kernel in the lab VM.
func TestTriggerHostPressureArms(t *testing.T) {
	t.Parallel()
	tr, err := NewTrigger("/proc/pressure/cpu", "some 500000 2000000")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EOPNOTSUPP) {
			testenv.SkipUnlessCI(t, "cannot arm a host trigger here: %v", err)
		}
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
}
