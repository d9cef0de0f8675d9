package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/internal/safetext"
	"golang.org/x/sys/unix"
)

// Terminal is what the live `quell top` uses of the terminal it runs on.
// Nil fields take the real one.
type Terminal struct {
	// Size returns the terminal's columns and rows, 0 when unknown. Nil:
	// stdout's, by ioctl (columns from IsTerminal when that fails).
	Size func() (cols, rows int)
	// Keys delivers key presses. Nil: stdin, switched to cbreak mode (single
	// keys, no echo; signals kept) while top runs and put back when it ends,
	// on q, Ctrl-C or SIGTERM alike.
	Keys io.Reader
	// Resized receives whenever the terminal changes size. Nil: SIGWINCH.
	Resized <-chan os.Signal
}

// runTopLive is `quell top` on a terminal: the alternate screen, one frame
// redrawn in place on every tick, resize and sort key.
func runTopLive(e *env, svc api.Service, direct bool, o topOpts) (int, error) {
	t := e.opts.Terminal
	if t.Size == nil {
		t.Size = func() (int, int) {
			cols, rows := termSize(e.stdout)
			if cols == 0 {
				_, cols = e.opts.IsTerminal(e.stdout)
			}
			return cols, rows
		}
	}
	if t.Keys == nil {
		restore, err := cbreak(os.Stdin)
		if err != nil {
			return 0, fmt.Errorf("terminal: %w", err)
		}
		defer restore()
		t.Keys = os.Stdin
	}
	if t.Resized == nil {
		c := make(chan os.Signal, 1)
		signal.Notify(c, unix.SIGWINCH)
		defer signal.Stop(c)
		t.Resized = c
	}
	done := make(chan struct{})
	defer close(done)
	tick := time.NewTicker(o.interval)
	defer tick.Stop()

	io.WriteString(e.stdout, altScreenOn)
	defer io.WriteString(e.stdout, altScreenOff)
	l := &liveTop{out: e.stdout, fetch: svc.View, size: t.Size, keys: readKeys(t.Keys, done),
		resized: t.Resized, tick: tick.C, o: o, direct: direct}
	if err := l.run(e.ctx); err != nil {
		return 0, err
	}
	return ExitOK, nil
}

// liveTop is the loop of the live view, its inputs as channels so that a
// test can drive it key by key.
type liveTop struct {
	out     io.Writer
	fetch   func(context.Context) (*view.View, error)
	size    func() (cols, rows int)
	keys    <-chan byte
	resized <-chan os.Signal
	tick    <-chan time.Time
	o       topOpts
	direct  bool

	v   *view.View // the last view fetched
	err error      // the last fetch's error, shown instead of v
}

// run draws until ctx ends or q is pressed. Only a tick fetches a new
// view: a key or a resize redraws the last one at once. An error on the
// first fetch ends it; later ones are shown (quelld restarting) until a
// fetch works again.
func (l *liveTop) run(ctx context.Context) error {
	l.o.live = true
	for fetch := true; ; {
		if fetch {
			v, err := l.fetch(ctx)
			switch {
			case err != nil && ctx.Err() != nil:
				return nil
			case err != nil && l.v == nil:
				return err
			}
			if err == nil {
				l.v = v
			}
			l.err = err
		}
		if _, err := io.WriteString(l.out, l.frame()); err != nil {
			return err
		}
		for again := true; again; {
			again = false
			select {
			case <-ctx.Done():
				return nil
			case <-l.tick:
				fetch = true
			case <-l.resized:
				fetch = false
			case k, ok := <-l.keys:
				switch act := topKeys[k]; {
				case !ok:
					l.keys, again = nil, true // no more keys; keep drawing
				case act == "quit":
					return nil
				case act == "":
					again = true
				default:
					l.o.sortBy, fetch = act, false
				}
			}
		}
	}
}

// frame paints the current state over the whole screen: every line cut to
// the width, cleared to its end, no newline after the last (on the bottom
// row it would scroll the first one away), the rest of the screen cleared.
func (l *liveTop) frame() string {
	cols, rows := l.size()
	var lines []string
	if l.err != nil {
		lines = []string{"quell top: " + safetext.Line(l.err.Error()) + "; retrying"}
	} else {
		lines = strings.Split(strings.TrimSuffix(renderTop(l.v, l.o, l.direct, cols), "\n"), "\n")
		lines = clipRows(lines, rows)
	}
	return home + strings.Join(strings.Split(fitWidth(strings.Join(lines, "\n"), cols), "\n"), clearEOL+"\n") + clearEOL + clearEOS
}

// clipRows keeps what fits in rows (all of it when rows <= 0): the top
// lines, and as the last a count of the table rows cut from the bottom.
func clipRows(lines []string, rows int) []string {
	if rows <= 0 || len(lines) <= rows {
		return lines
	}
	keep := rows - 1
	return append(lines[:keep:keep], fmt.Sprintf("… %d more rows below: the terminal has %d rows", len(lines)-keep, rows))
}
