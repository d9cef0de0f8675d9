package api

import (
	"context"

	"github.com/quell-dev/quell/enforcer/view"
)

// Source is what the daemon provides to the API server. Implementations must be
// safe for concurrent use: the server calls them from one goroutine per request.
type Source interface {
	// View returns the latest published view, or nil before the first
	// observation finished (the server then answers 503).
	View() *view.View
	// Events returns the events with Seq > sinceSeq, oldest first, at most
	// limit of them (the oldest ones, so that paging by the last Seq seen
	// never skips an event). It returns an empty slice when there are none.
	Events(sinceSeq uint64, limit int) []view.Event
	// Explain explains one container given by ID (full or a unique prefix) or
	// cgroup path; an error wrapping view.ErrNotFound when none matches.
	Explain(ctx context.Context, idOrCgroup string) (*view.Explanation, error)
	// Plan computes the writes the next reconcile would make, writing nothing.
	Plan(ctx context.Context) ([]view.PlanEntry, error)
	// Reload re-reads the policy; an invalid policy returns an error listing
	// the problems and leaves the last good policy in force.
	Reload(ctx context.Context) error
	// Release lifts the active penalty of a container; an error wrapping
	// view.ErrNotFound when the container has none.
	Release(ctx context.Context, id string) error
}

// EventWaiter is optionally implemented by a Source that can wake a waiting
// reader as soon as an event is recorded; long-polls then use it instead of
// polling Events.
type EventWaiter interface {
	// WaitEvents is Events that, when there are none yet, waits for one
	// until ctx ends (then returning none).
	WaitEvents(ctx context.Context, sinceSeq uint64, limit int) []view.Event
}
