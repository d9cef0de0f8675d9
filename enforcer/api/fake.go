package api

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/quell-dev/quell/enforcer/view"
)

var _ Source = (*FakeSource)(nil)

// FakeSource is an in-memory Source for tests of the server, the client and
// the CLI. Set its fields before use or under Lock; the methods are safe for
// concurrent use.
type FakeSource struct {
	sync.Mutex
	ViewValue    *view.View
	EventList    []view.Event
	Explanations map[string]*view.Explanation // by ID or cgroup
	PlanEntries  []view.PlanEntry
	ReloadErr    error
	Reloads      int      // how many times Reload was called
	Released     []string // IDs Release lifted
}

// View returns ViewValue.
func (f *FakeSource) View() *view.View {
	f.Lock()
	defer f.Unlock()
	return f.ViewValue
}

// Events returns the first limit events of EventList with Seq > since.
func (f *FakeSource) Events(since uint64, limit int) []view.Event {
	f.Lock()
	defer f.Unlock()
	out := []view.Event{}
	for _, e := range f.EventList {
		if e.Seq > since && (limit <= 0 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out
}

// Append adds an event with the next sequence number and returns it.
func (f *FakeSource) Append(e view.Event) view.Event {
	f.Lock()
	defer f.Unlock()
	var last uint64
	if n := len(f.EventList); n > 0 {
		last = f.EventList[n-1].Seq
	}
	e.Seq = last + 1
	f.EventList = append(f.EventList, e)
	return e
}

// Explain looks idOrCgroup up in Explanations, then by ID prefix among them.
func (f *FakeSource) Explain(_ context.Context, idOrCgroup string) (*view.Explanation, error) {
	f.Lock()
	defer f.Unlock()
	if x, ok := f.Explanations[idOrCgroup]; ok {
		return x, nil
	}
	for _, x := range f.Explanations {
		if idOrCgroup != "" && strings.HasPrefix(x.Container.ID, idOrCgroup) {
			return x, nil
		}
	}
	return nil, fmt.Errorf("no container or cgroup %q: %w", idOrCgroup, view.ErrNotFound)
}

// Plan returns PlanEntries.
func (f *FakeSource) Plan(context.Context) ([]view.PlanEntry, error) {
	f.Lock()
	defer f.Unlock()
	return f.PlanEntries, nil
}

// Reload counts the call and returns ReloadErr.
func (f *FakeSource) Reload(context.Context) error {
	f.Lock()
	defer f.Unlock()
	f.Reloads++
	return f.ReloadErr
}

// Release lifts the penalty of the container whose ID starts with id, or
// returns view.ErrNotFound when ViewValue has no such penalty.
func (f *FakeSource) Release(_ context.Context, id string) error {
	f.Lock()
	defer f.Unlock()
	if f.ViewValue != nil && id != "" {
		for _, p := range f.ViewValue.Penalties {
			if strings.HasPrefix(p.ID, id) {
				f.Released = append(f.Released, p.ID)
				return nil
			}
		}
	}
	return fmt.Errorf("no active penalty on %q: %w", id, view.ErrNotFound)
}

// WaitingSource is a FakeSource that also implements EventWaiter, waking
// waiters when Append is called.
type WaitingSource struct {
	*FakeSource
	mu   sync.Mutex
	wake chan struct{}
}

var _ EventWaiter = (*WaitingSource)(nil)

// NewWaitingSource wraps f.
func NewWaitingSource(f *FakeSource) *WaitingSource {
	return &WaitingSource{FakeSource: f, wake: make(chan struct{})}
}

// Append records e and wakes every waiter.
func (w *WaitingSource) Append(e view.Event) view.Event {
	e = w.FakeSource.Append(e)
	w.mu.Lock()
	close(w.wake)
	w.wake = make(chan struct{})
	w.mu.Unlock()
	return e
}

// WaitEvents returns events after since, waiting for an Append when there
// are none until ctx ends.
func (w *WaitingSource) WaitEvents(ctx context.Context, since uint64, limit int) []view.Event {
	for {
		w.mu.Lock()
		wake := w.wake
		w.mu.Unlock()
		if evs := w.Events(since, limit); len(evs) > 0 {
			return evs
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
	}
}
