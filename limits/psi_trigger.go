package limits

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Kernel bounds of a PSI trigger window (kernel/sched/psi.c).
const (
	TriggerWindowMin = 500 * time.Millisecond
	TriggerWindowMax = 10 * time.Second
)

// ErrTriggerSpec is wrapped by NewTrigger's errors for a trigger line that
// the kernel would reject anyway (checked before any I/O).
var ErrTriggerSpec = errors.New("invalid pressure trigger")

// ErrTriggerGone is matched (errors.Is) by the *TriggerError a watcher ends
// with when the kernel reports POLLERR, POLLHUP or POLLNVAL on the trigger:
// for a cgroup's X.pressure file that means the cgroup was removed.
var ErrTriggerGone = errors.New("pressure trigger gone")

// TriggerError says why a trigger's watcher ended on its own.
type TriggerError struct {
	Path    string
	Revents int16 // poll revents that ended it
}

func (e *TriggerError) Error() string {
	return fmt.Sprintf("pressure trigger %s: poll revents %#x (cgroup removed?)", e.Path, uint16(e.Revents))
}

// Is makes errors.Is(err, ErrTriggerGone) true.
func (e *TriggerError) Is(target error) bool { return target == ErrTriggerGone }

// TriggerEvent is one notification: the kernel saw at least the trigger's
// stall time within one window. At is the wall clock when poll returned.
type TriggerEvent struct {
	At time.Time
}

// Trigger is a PSI trigger armed on one pressure file, watched by its own
// goroutine. Events arrive on Events(); the kernel sends at most one per
// window, and a slow reader sees consecutive events coalesced into one.
// The watcher goroutine blocks in poll(2) (Go's netpoller does not deliver
// POLLPRI), so each Trigger occupies one OS thread while armed.
type Trigger struct {
	path   string
	fd     int // the pressure file, owned
	wake   int // eventfd that Close writes to end the watcher
	events chan TriggerEvent
	done   chan struct{}
	err    error // set by the watcher before done is closed
	once   sync.Once
	now    func() time.Time
}

// NewTrigger arms a PSI trigger on path (/proc/pressure/X or a cgroup's
// X.pressure) and starts its watcher. line is "some|full STALL_US WINDOW_US",
// e.g. "some 150000 1000000"; a trailing newline is added if absent (the
// kernel rejects the write with EINVAL without one).
//
//   - A malformed line, a window outside 500ms..10s or a stall of 0 or longer
//     than the window: error wrapping ErrTriggerSpec, nothing opened.
//   - The file cannot be opened (no PSI, cgroup gone: fs.ErrNotExist) or the
//     kernel refuses the write (EINVAL without CAP_SYS_RESOURCE unless the
//     window is a multiple of 2s; EOPNOTSUPP when PSI is disabled): wrapped
//     error naming the path.
//   - Otherwise a running Trigger; the caller must Close it.
func NewTrigger(path string, line string) (*Trigger, error) {
	line, err := checkTriggerLine(line)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open pressure trigger %s: %w", path, err)
	}
	if _, err := unix.Write(fd, []byte(line)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("arm pressure trigger %s with %q: %w", path, strings.TrimSpace(line), err)
	}
	t, err := watchFD(path, fd, time.Now)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return t, nil
}

// checkTriggerLine validates line and returns it with exactly one trailing "\n".
func checkTriggerLine(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) != 3 || (f[0] != "some" && f[0] != "full") {
		return "", fmt.Errorf("%w: %q: want \"some|full STALL_US WINDOW_US\"", ErrTriggerSpec, line)
	}
	stall, err1 := strconv.ParseUint(f[1], 10, 32)
	window, err2 := strconv.ParseUint(f[2], 10, 32)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("%w: %q: stall and window are microseconds", ErrTriggerSpec, line)
	}
	w := time.Duration(window) * time.Microsecond
	if w < TriggerWindowMin || w > TriggerWindowMax {
		return "", fmt.Errorf("%w: %q: window %v outside %v..%v", ErrTriggerSpec, line, w, TriggerWindowMin, TriggerWindowMax)
	}
	if stall == 0 || stall > window {
		return "", fmt.Errorf("%w: %q: stall must be in 1..window", ErrTriggerSpec, line)
	}
	return strings.Join(f, " ") + "\n", nil
}

// watchFD starts a watcher on an already armed fd, which it then owns.
func watchFD(path string, fd int, now func() time.Time) (*Trigger, error) {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pressure trigger %s: eventfd: %w", path, err)
	}
	t := &Trigger{
		path:   path,
		fd:     fd,
		wake:   wake,
		events: make(chan TriggerEvent, 1),
		done:   make(chan struct{}),
		now:    now,
	}
	go t.watch()
	return t, nil
}

func (t *Trigger) watch() {
	// Deferred calls run last-in first-out: done is closed before events, so
	// a reader that sees events closed always finds Err set.
	defer close(t.events)
	defer close(t.done)
	fds := []unix.PollFd{
		{Fd: int32(t.fd), Events: unix.POLLPRI},
		{Fd: int32(t.wake), Events: unix.POLLIN},
	}
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			t.err = fmt.Errorf("poll pressure trigger %s: %w", t.path, err)
			return
		}
		if fds[1].Revents != 0 { // Close
			return
		}
		r := fds[0].Revents
		if r&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			t.err = &TriggerError{Path: t.path, Revents: r}
			return
		}
		if r&unix.POLLPRI != 0 {
			select {
			case t.events <- TriggerEvent{At: t.now()}:
			default: // reader is behind: coalesce
			}
		}
	}
}

// Path is the pressure file the trigger is armed on.
func (t *Trigger) Path() string { return t.path }

// Events delivers one value per kernel notification. It is closed when the
// watcher ends: after Close, or on its own when the trigger is gone (then
// Err says why).
func (t *Trigger) Events() <-chan TriggerEvent { return t.events }

// Done is closed when the watcher has ended.
func (t *Trigger) Done() <-chan struct{} { return t.done }

// Err is nil while the watcher runs and after a plain Close; after the
// watcher ended on its own it is a *TriggerError (errors.Is ErrTriggerGone)
// or a poll error.
func (t *Trigger) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// Close stops the watcher, waits for its goroutine to return and closes the
// file, which disarms the trigger. It is safe to call more than once and
// after the watcher ended on its own; it always returns nil after the first
// call's result.
func (t *Trigger) Close() error {
	var err error
	t.once.Do(func() {
		var one = [8]byte{1}
		if _, werr := unix.Write(t.wake, one[:]); werr != nil && werr != unix.EAGAIN {
			err = fmt.Errorf("close pressure trigger %s: wake watcher: %w", t.path, werr)
		}
		<-t.done
		unix.Close(t.fd)
		unix.Close(t.wake)
	})
	return err
}
