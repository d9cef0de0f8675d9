package detect

import (
	"time"

	"github.com/quell-dev/quell/policies"
)

// threshold is a rule's when-condition with its hysteresis.
type threshold struct {
	above   bool    // true: bad when value > limit; false: bad when value < limit
	limit   float64 // the when threshold
	release float64 // relieved when value < release (above) or > release (below)
}

func newThreshold(w policies.When, release *float64) (threshold, bool) {
	var t threshold
	switch {
	case w.Above != nil:
		t = threshold{above: true, limit: *w.Above}
	case w.Below != nil:
		t = threshold{above: false, limit: *w.Below}
	default:
		return t, false
	}
	t.release = t.limit
	if release != nil {
		t.release = *release
	}
	return t, true
}

// bad reports whether v is on the wrong side of the threshold.
func (t threshold) bad(v float64) bool {
	if t.above {
		return v > t.limit
	}
	return v < t.limit
}

// relieved reports whether v is back on the good side of the release value.
// Between release and limit a value is neither bad nor relieved (hysteresis).
func (t threshold) relieved(v float64) bool {
	if t.above {
		return v < t.release
	}
	return v > t.release
}

func (t threshold) op() string {
	if t.above {
		return ">"
	}
	return "<"
}

// sustain tracks how long a condition has held continuously.
//
// Each observation either continues the run (bad, and no more than maxGap
// after the previous observation) or ends it: a value that is not bad (even
// inside the hysteresis band), a missing value, or a gap between snapshots
// longer than maxGap.
type sustain struct {
	since time.Time // start of the current run; zero when not holding
	last  time.Time // time of the previous observation
	peak  float64   // worst value in the current run
}

// observe records one observation and returns how long the condition has
// held (0 when it does not hold now).
func (s *sustain) observe(now time.Time, v float64, ok bool, t threshold, maxGap time.Duration) time.Duration {
	gap := !s.last.IsZero() && now.Sub(s.last) > maxGap
	s.last = now
	if !ok || !t.bad(v) {
		s.since = time.Time{}
		return 0
	}
	if s.since.IsZero() || gap {
		s.since, s.peak = now, v
	}
	if (t.above && v > s.peak) || (!t.above && v < s.peak) {
		s.peak = v
	}
	return now.Sub(s.since)
}

// rearm restarts the run at now, if the condition is holding: after a
// ladder step the condition must hold again for the evaluation period.
func (s *sustain) rearm(now time.Time) {
	if !s.since.IsZero() {
		s.since = now
	}
}

// holding reports whether the condition held at the last observation.
func (s *sustain) holding() bool { return !s.since.IsZero() }
