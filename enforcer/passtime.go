package enforcer

import (
	"log/slog"
	"strings"
	"time"
)

// passTimer times the steps of one pass, so that a slow pass says where
// its time went (on a thrashing host a pass has taken 8 s, and a rule's
// reaction with it).
type passTimer struct {
	now   func() time.Time
	start time.Time
	last  time.Time
	steps []passStep
}

type passStep struct {
	name string
	d    time.Duration
}

func newPassTimer(now func() time.Time, start time.Time) *passTimer {
	return &passTimer{now: now, start: start, last: start}
}

// mark ends the step called name.
func (p *passTimer) mark(name string) {
	t := p.now()
	p.steps = append(p.steps, passStep{name, t.Sub(p.last)})
	p.last = t
}

func (p *passTimer) total() time.Duration { return p.last.Sub(p.start) }

// String is "observe 6.1s, reconcile 1.2s, …", longest first, steps under
// 1 ms left out.
func (p *passTimer) String() string {
	steps := append([]passStep(nil), p.steps...)
	for i := 1; i < len(steps); i++ { // insertion sort: a handful of steps
		for j := i; j > 0 && steps[j].d > steps[j-1].d; j-- {
			steps[j], steps[j-1] = steps[j-1], steps[j]
		}
	}
	var b strings.Builder
	for _, s := range steps {
		if s.d < time.Millisecond {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.name + " " + s.d.Round(time.Millisecond).String())
	}
	return b.String()
}

// slowPass is how long a pass may take before it is reported: twice the
// interval, at least 2 s.
func slowPass(interval time.Duration) time.Duration { return max(2*time.Second, 2*interval) }

// slowReporter logs slow and late passes, at most one line of each kind a
// minute (a host where every pass is slow would otherwise fill the journal),
// each line counting those left out since the last.
type slowReporter struct {
	log                  *slog.Logger
	lastSlow, lastLate   time.Time
	quietSlow, quietLate int
}

// report logs a pass that took longer than slowPass, and a start that came
// much later than the interval promised (quelld not scheduled, or blocked
// before the pass began).
func (r *slowReporter) report(p *passTimer, interval time.Duration, prevStart time.Time) {
	if d := p.total(); d > slowPass(interval) {
		if r.lastSlow.IsZero() || p.last.Sub(r.lastSlow) >= time.Minute {
			r.log.Warn("slow pass: rules reacted late by as much", "took", d.Round(time.Millisecond), "steps", p.String(),
				"not_logged_since_last", r.quietSlow)
			r.lastSlow, r.quietSlow = p.last, 0
		} else {
			r.quietSlow++
		}
	}
	if prevStart.IsZero() {
		return
	}
	if gap := p.start.Sub(prevStart); gap > 3*interval && gap > slowPass(interval) {
		if r.lastLate.IsZero() || p.start.Sub(r.lastLate) >= time.Minute {
			r.log.Warn("late pass: it began long after the previous one", "gap", gap.Round(time.Millisecond), "interval", interval,
				"not_logged_since_last", r.quietLate)
			r.lastLate, r.quietLate = p.start, 0
		} else {
			r.quietLate++
		}
	}
}
