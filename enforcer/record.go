package enforcer

import (
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
)

// recorder keeps the recent events in a ring, logs each (structured, so
// journald gets TENANT=, RULE=, … fields) and hands them to the state store.
type recorder struct {
	mu  sync.Mutex
	max int
	seq uint64
	// evs holds the events, the last max of them kept (see kept); it
	// grows to twice max before the old half is dropped, so an add costs
	// O(1) amortised: dropping one event per add copied all max of them,
	// and at 10,000 new containers (one limit event each) that copying and
	// its GC work were a fifth of quelld's CPU in the lab's resync.
	evs     []view.Event
	store   *state.Store
	log     *slog.Logger
	wake    chan struct{} // closed and replaced on each event (long-poll)
	onEvent func(view.Event)
	dirty   bool // events not yet handed to the store
}

// flush hands the events to the store if any arrived since the last flush
// (serialising 1,000 events on every add would dominate a busy tick).
func (r *recorder) flush() {
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return
	}
	raw, err := json.Marshal(r.kept())
	r.dirty = false
	r.mu.Unlock()
	if err == nil {
		r.store.SetEvents(raw)
	}
}

func newRecorder(st *state.Store, max int, log *slog.Logger) *recorder {
	r := &recorder{max: max, store: st, log: log, wake: make(chan struct{})}
	if raw := st.Events(); len(raw) > 0 {
		var evs []view.Event
		if err := json.Unmarshal(raw, &evs); err == nil {
			r.evs = evs
			if n := len(evs); n > 0 {
				r.seq = evs[n-1].Seq
			}
		} else {
			log.Warn("stored events unreadable; starting a new log", "err", err)
		}
	}
	return r
}

func (r *recorder) add(ev view.Event) {
	r.mu.Lock()
	r.seq++
	ev.Seq = r.seq
	r.evs = append(r.evs, ev)
	if len(r.evs) >= 2*r.max {
		r.evs = append(make([]view.Event, 0, 2*r.max), r.kept()...)
	}
	r.dirty = true
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
	if r.onEvent != nil {
		r.onEvent(ev)
	}
	attrs := []any{"kind", ev.Kind}
	for _, kv := range [][2]string{{"tenant", ev.Tenant}, {"container", ev.Target}, {"cgroup", ev.Cgroup},
		{"rule", ev.Rule}, {"before", ev.Before}, {"after", ev.After}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	if ev.DryRun {
		attrs = append(attrs, "dry_run", true)
	}
	r.log.Info(ev.Reason, attrs...)
}

// since returns up to limit events with Seq > seq, oldest first, and a
// channel closed when the next event arrives.
func (r *recorder) since(seq uint64, limit int) ([]view.Event, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []view.Event
	for _, ev := range r.kept() {
		if ev.Seq > seq {
			out = append(out, ev)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, r.wake
}

// lastFor returns the newest event for target (ID or cgroup), if any.
func (r *recorder) forTarget(id, cg string) []view.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []view.Event
	for _, ev := range r.kept() {
		if (id != "" && ev.Target == id) || (cg != "" && ev.Cgroup == cg) {
			out = append(out, ev)
		}
	}
	return out
}

// recent returns the last n events, oldest first.
func (r *recorder) recent(n int) []view.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.kept()
	if len(evs) > n {
		return append([]view.Event(nil), evs[len(evs)-n:]...)
	}
	return append([]view.Event(nil), evs...)
}

// kept is the last max events. Callers hold mu.
func (r *recorder) kept() []view.Event {
	if len(r.evs) > r.max {
		return r.evs[len(r.evs)-r.max:]
	}
	return r.evs
}

// save writes the state dir (events included) if anything changed.
func (e *Enforcer) save() error {
	e.events.flush()
	return e.store.Save(e.clock.Now())
}
