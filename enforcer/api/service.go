package api

import (
	"context"
	"fmt"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// Service is the caller's side of the API: every call takes a context and can
// fail. [Client] implements it over the socket, and [InProcess] over a Source
// held in the same process (the CLI's read-only fallback when quelld is not
// running).
type Service interface {
	View(ctx context.Context) (*view.View, error)
	// Events returns events with Seq > since, oldest first, at most limit.
	// When wait > 0 and there are none yet, it waits up to wait for some and
	// returns an empty slice if none came.
	Events(ctx context.Context, since uint64, limit int, wait time.Duration) ([]view.Event, error)
	Explain(ctx context.Context, idOrCgroup string) (*view.Explanation, error)
	Plan(ctx context.Context) ([]view.PlanEntry, error)
	Reload(ctx context.Context) error
	Release(ctx context.Context, id string) error
	// Version returns the version of whatever answers: quelld's version
	// through the Client, "in-process" for InProcess.
	Version(ctx context.Context) (string, error)
}

var (
	_ Service = (*Client)(nil)
	_ Service = inProcess{}
)

// InProcess adapts a Source to a Service without a socket. Events long-polls
// the Source every pollInterval (100ms when zero).
func InProcess(src Source, pollInterval time.Duration) Service {
	if pollInterval <= 0 {
		pollInterval = 100 * time.Millisecond
	}
	return inProcess{src: src, poll: pollInterval}
}

type inProcess struct {
	src  Source
	poll time.Duration
}

func (p inProcess) View(ctx context.Context) (*view.View, error) {
	v := p.src.View()
	if v == nil {
		return nil, fmt.Errorf("no view yet: the first observation has not finished")
	}
	return v, nil
}

func (p inProcess) Events(ctx context.Context, since uint64, limit int, wait time.Duration) ([]view.Event, error) {
	return waitEvents(ctx, p.src, since, limit, wait, p.poll)
}

func (p inProcess) Explain(ctx context.Context, id string) (*view.Explanation, error) {
	return p.src.Explain(ctx, id)
}

func (p inProcess) Plan(ctx context.Context) ([]view.PlanEntry, error) { return p.src.Plan(ctx) }
func (p inProcess) Reload(ctx context.Context) error                   { return p.src.Reload(ctx) }
func (p inProcess) Release(ctx context.Context, id string) error       { return p.src.Release(ctx, id) }
func (p inProcess) Version(context.Context) (string, error)            { return "in-process", nil }

// waitEvents asks src for events after since, and when there are none and
// wait > 0, waits for some until wait passes or ctx ends: through
// EventWaiter when src has it, else by asking again every poll.
// It never returns nil: an empty result is an empty slice.
func waitEvents(ctx context.Context, src Source, since uint64, limit int, wait, poll time.Duration) ([]view.Event, error) {
	evs := src.Events(since, limit)
	if len(evs) > 0 || wait <= 0 {
		if evs == nil {
			evs = []view.Event{}
		}
		return evs, nil
	}
	if w, ok := src.(EventWaiter); ok {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		evs := w.WaitEvents(wctx, since, limit)
		if evs == nil {
			evs = []view.Event{}
		}
		if len(evs) == 0 && ctx.Err() != nil {
			return evs, ctx.Err()
		}
		return evs, nil
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return []view.Event{}, ctx.Err()
		case <-deadline.C:
			return []view.Event{}, nil
		case <-tick.C:
			if evs := src.Events(since, limit); len(evs) > 0 {
				return evs, nil
			}
		}
	}
}
