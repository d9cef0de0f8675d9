package benchmarks

import (
	"sync"
	"time"

	"github.com/quell-dev/quell/limits"
)

// cpuTriggerLine is the trigger quelld arms on /proc/pressure/* when it
// may (enforcer/pressure.go): 150 ms of stall in a 1 s window.
const cpuTriggerLine = "some 100000 500000"

// triggerWatch records when a PSI trigger first fired after a start time:
// the bench's view of when quelld's own trigger fired.
type triggerWatch struct {
	t     *limits.Trigger
	mu    sync.Mutex
	since time.Time
	at    time.Time
	done  chan struct{}
}

// watchTrigger arms line on path; a trigger that cannot be armed gives a
// watch that never fires (the split is then left out of the result).
func watchTrigger(path, line string) *triggerWatch {
	w := &triggerWatch{done: make(chan struct{})}
	t, err := limits.NewTrigger(path, line)
	if err != nil {
		close(w.done)
		return w
	}
	w.t = t
	go func() {
		defer close(w.done)
		for ev := range t.Events() {
			w.mu.Lock()
			if !w.since.IsZero() && w.at.IsZero() && !ev.At.Before(w.since) {
				w.at = ev.At
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// from sets the start: only events at or after it count.
func (w *triggerWatch) from(t time.Time) {
	w.mu.Lock()
	w.since = t
	w.mu.Unlock()
}

// first is the first event at or after the start, if any yet.
func (w *triggerWatch) first() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at, !w.at.IsZero()
}

func (w *triggerWatch) close() {
	if w.t != nil {
		w.t.Close()
		<-w.done
	}
}
