package systemd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenNotify plays systemd: a unixgram socket in a temp dir, exported as
// NOTIFY_SOCKET. Tests using it cannot be parallel (t.Setenv).
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

// received returns every datagram that arrives within wait.
func received(t *testing.T, conn *net.UnixConn, wait time.Duration) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 4096)
	for {
		if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

func TestNotifierMessages(t *testing.T) {
	conn := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "")
	n, err := NewNotifier()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func() error{
		n.Ready, n.Reloading, n.Stopping,
		func() error { return n.Status("enforcing 3 tenants\nall good") },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	got := received(t, conn, 200*time.Millisecond)
	if len(got) != 4 {
		t.Fatalf("got %d messages %q, want 4", len(got), got)
	}
	if got[0] != "READY=1" || got[2] != "STOPPING=1" || got[3] != "STATUS=enforcing 3 tenants all good" {
		t.Errorf("messages = %q", got)
	}
	reload := strings.Split(got[1], "\n")
	if len(reload) != 2 || reload[0] != "RELOADING=1" || !strings.HasPrefix(reload[1], "MONOTONIC_USEC=") {
		t.Fatalf("reloading message = %q, want RELOADING=1 and MONOTONIC_USEC=", got[1])
	}
	if usec, err := strconv.ParseUint(strings.TrimPrefix(reload[1], "MONOTONIC_USEC="), 10, 64); err != nil || usec == 0 {
		t.Errorf("MONOTONIC_USEC = %q, want a positive integer", reload[1])
	}
}

func TestNotifierWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n, err := NewNotifier()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err != nil {
		t.Errorf("Ready without NOTIFY_SOCKET = %v, want nil", err)
	}
	if n.WatchdogTimeout() != 0 {
		t.Errorf("WatchdogTimeout = %v, want 0", n.WatchdogTimeout())
	}
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(context.Background(), func() bool { return true }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunWatchdog with the watchdog off = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog with the watchdog off did not return")
	}
}

func TestNotifierSocketGone(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "missing.sock"))
	n, err := NewNotifier(WithWatchdog(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err == nil {
		t.Error("Ready to a missing socket = nil, want an error")
	}
}

func TestWatchdogFromEnvironment(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		bad       bool
	}{
		{"10000000", strconv.Itoa(os.Getpid()), 10 * time.Second, false},
		{"10000000", "", 10 * time.Second, false},
		{"10000000", "1", 0, false}, // meant for another process
		{"", "", 0, false},
		{"ten", "", 0, true},
		{"-5", "", 0, true},
	}
	for _, tt := range tests {
		t.Setenv("WATCHDOG_USEC", tt.usec)
		t.Setenv("WATCHDOG_PID", tt.pid)
		n, err := NewNotifier()
		if (err != nil) != tt.bad {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: error %v, want error %v", tt.usec, tt.pid, err, tt.bad)
			continue
		}
		if err == nil && n.WatchdogTimeout() != tt.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: timeout %v, want %v", tt.usec, tt.pid, n.WatchdogTimeout(), tt.want)
		}
	}
}

type fakeTicker struct {
	c       chan time.Time
	every   chan time.Duration
	stopped chan struct{}
}

func (f *fakeTicker) Chan() <-chan time.Time { return f.c }
func (f *fakeTicker) Stop()                  { close(f.stopped) }

func TestRunWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	conn := listenNotify(t)
	ft := &fakeTicker{c: make(chan time.Time), every: make(chan time.Duration, 1), stopped: make(chan struct{})}
	n, err := NewNotifier(WithWatchdog(10*time.Second), WithTicker(func(d time.Duration) Ticker {
		ft.every <- d
		return ft
	}))
	if err != nil {
		t.Fatal(err)
	}
	health := []bool{true, false, false, true}
	calls := 0
	healthy := func() bool { calls++; return health[calls-1] }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx, healthy) }()
	if d := <-ft.every; d != 5*time.Second {
		t.Errorf("ticker interval = %v, want 5s (half of WatchdogSec)", d)
	}
	for range health {
		ft.c <- time.Time{}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunWatchdog = %v", err)
	}
	select {
	case <-ft.stopped:
	default:
		t.Error("ticker not stopped")
	}
	got := received(t, conn, 200*time.Millisecond)
	if len(got) != 2 || got[0] != "WATCHDOG=1" || got[1] != "WATCHDOG=1" {
		t.Errorf("pings = %q, want 2 WATCHDOG=1 (one per healthy tick)", got)
	}
	if calls != len(health) {
		t.Errorf("healthy called %d times, want %d", calls, len(health))
	}
}
