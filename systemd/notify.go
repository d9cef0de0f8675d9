package systemd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Ticker is the part of *time.Ticker the watchdog uses; tests pass their own.
type Ticker interface {
	Chan() <-chan time.Time
	Stop()
}

type realTicker struct{ *time.Ticker }

func (t realTicker) Chan() <-chan time.Time { return t.C }

// Notifier sends sd_notify(3) messages to the service manager and keeps the
// watchdog fed. Without NOTIFY_SOCKET (not started by systemd) every call is
// a no-op that returns nil.
type Notifier struct {
	send      func(state string) (bool, error)
	watchdog  time.Duration
	newTicker func(d time.Duration) Ticker
	onError   func(error)
}

// NotifierOption configures a Notifier.
type NotifierOption func(*Notifier)

// WithWatchdog overrides the watchdog timeout otherwise read from
// WATCHDOG_USEC/WATCHDOG_PID; 0 turns the watchdog off.
func WithWatchdog(timeout time.Duration) NotifierOption {
	return func(n *Notifier) { n.watchdog = timeout }
}

// WithTicker replaces time.NewTicker for RunWatchdog.
func WithTicker(newTicker func(d time.Duration) Ticker) NotifierOption {
	return func(n *Notifier) { n.newTicker = newTicker }
}

// WithErrorHandler receives failed watchdog pings (RunWatchdog keeps going
// after them); the default drops them.
func WithErrorHandler(f func(error)) NotifierOption {
	return func(n *Notifier) { n.onError = f }
}

// NewNotifier returns a Notifier over daemon.SdNotify. It reads the watchdog
// timeout from the environment systemd sets (WatchdogSec=), leaving the
// variables in place; it fails only for a malformed WATCHDOG_USEC or
// WATCHDOG_PID.
func NewNotifier(opts ...NotifierOption) (*Notifier, error) {
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	n := &Notifier{
		send:      func(state string) (bool, error) { return daemon.SdNotify(false, state) },
		watchdog:  wd,
		newTicker: func(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} },
		onError:   func(error) {},
	}
	for _, o := range opts {
		o(n)
	}
	return n, nil
}

// Ready tells systemd that start-up (or a reload) is complete; with
// Type=notify, `systemctl start quelld` returns only after this.
func (n *Notifier) Ready() error { return n.notify(daemon.SdNotifyReady) }

// Reloading tells systemd a reload (SIGHUP) began; call Ready when it is
// done. It carries MONOTONIC_USEC, which systemd >= 253 wants with it.
func (n *Notifier) Reloading() error {
	return n.notify(daemon.SdNotifyReloading + "\n" + strings.TrimSuffix(daemon.SdNotifyMonotonicUsec(), "\n"))
}

// Stopping tells systemd that shutdown began.
func (n *Notifier) Stopping() error { return n.notify(daemon.SdNotifyStopping) }

// Status sets the free-text status `systemctl status` shows. Newlines, which
// would end the assignment, become spaces.
func (n *Notifier) Status(s string) error {
	return n.notify("STATUS=" + strings.ReplaceAll(s, "\n", " "))
}

// WatchdogTimeout is the watchdog timeout in effect, 0 when off.
func (n *Notifier) WatchdogTimeout() time.Duration { return n.watchdog }

// RunWatchdog pings the watchdog every timeout/2 while healthy() returns
// true, and skips the ping when it returns false, so that systemd kills and
// restarts a daemon whose main loop stopped making progress. It blocks until
// ctx ends and returns nil; with the watchdog off it returns nil at once.
// Failed pings go to the error handler and do not stop it.
func (n *Notifier) RunWatchdog(ctx context.Context, healthy func() bool) error {
	if n.watchdog <= 0 {
		return nil
	}
	t := n.newTicker(n.watchdog / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			if !healthy() {
				continue
			}
			if err := n.notify(daemon.SdNotifyWatchdog); err != nil {
				n.onError(err)
			}
		}
	}
}

func (n *Notifier) notify(state string) error {
	if _, err := n.send(state); err != nil {
		return fmt.Errorf("sd_notify %q: %w", strings.SplitN(state, "\n", 2)[0], err)
	}
	return nil
}
