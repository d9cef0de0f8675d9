package enforcer

import (
	"context"
	"errors"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// Local is a read-only enforcer for `quell` when quelld is not running: it
// reads cgroupfs, runtime state and the policy directly, writes nothing,
// and refreshes its view when asked for one more than refresh after the
// last (so `quell top` stays live).
type Local struct {
	*Enforcer
	ctx     context.Context
	refresh time.Duration
}

// NewLocal observes once (two reads gap apart, for rates) and returns the
// local source.
func NewLocal(ctx context.Context, cfg Config, gap time.Duration) (*Local, error) {
	e, err := Observe(ctx, cfg, gap)
	if err != nil {
		return nil, err
	}
	return &Local{Enforcer: e, ctx: ctx, refresh: gap}, nil
}

// View re-reads the counters when the last view is older than the refresh.
func (l *Local) View() *view.View {
	if v := l.Enforcer.View(); l.clock.Now().Sub(v.Time) < l.refresh {
		return v
	}
	l.Tick(l.ctx)
	return l.Enforcer.View()
}

// ErrDaemonRequired is returned by Local for what only quelld can do.
var ErrDaemonRequired = errors.New("quelld is not running; this needs the daemon (systemctl start quelld)")

// Reload is refused: without the daemon there is nothing to reload.
func (l *Local) Reload(ctx context.Context) error { return ErrDaemonRequired }

// Release is refused: penalties exist only in the daemon.
func (l *Local) Release(ctx context.Context, id string) error { return ErrDaemonRequired }
