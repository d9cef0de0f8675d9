package enforcer

import (
	"time"

	"github.com/quell-dev/quell/limits"
)

// recentWindow is the span a ".avg1" signal averages over.
const recentWindow = time.Second

// shortSpan is the shortest span a ".recent" signal is computed over: the
// share of the last few hundred ms that was stalled, so that a rule can act
// on the pass a PSI trigger wakes (the trigger fires ~0.2 s after a stall
// starts, when no more than that 0.2 s of the last second was stalled, so
// an avg1 above 25% cannot hold yet).
const shortSpan = 200 * time.Millisecond

// psiWindow keeps the last few readings of one pressure source so rules
// can watch the share of about the last second that was stalled
// ("host.cpu.some.avg1"): the kernel's shortest average, avg10, is an
// exponential average over 10 s and needs ~3 s to pass 25% after a step
// from 0 to 80%, which alone would put a rule's reaction over 3 s.
//
// Every container has three: the reading times are kept as offsets from
// one base time (8 bytes a slot rather than time.Time's 24), which keeps
// a container's tracked state 384 bytes smaller.
type psiWindow struct {
	n          int32            // readings held, at most len(at)
	hasFull    bool             //
	base       time.Time        // the time at[0..n) count from
	at         [8]time.Duration // since base; room for 1 s of 250 ms samples and a few passes
	some, full [8]uint64        // total stall, µs
}

// add records a reading taken at now (oldest readings drop out).
func (w *psiWindow) add(now time.Time, p limits.PSI) {
	if w.n > 0 && (p.Some.Total < w.some[w.n-1] || now.Sub(w.base) <= w.at[w.n-1]) {
		w.n = 0 // a counter reset (recreated cgroup) or a clock step: start over
	}
	if w.n == 0 {
		w.base = now
	}
	if w.n == int32(len(w.at)) {
		copy(w.at[:], w.at[1:])
		copy(w.some[:], w.some[1:])
		copy(w.full[:], w.full[1:])
		w.n--
	}
	w.at[w.n], w.some[w.n], w.full[w.n] = now.Sub(w.base), p.Some.Total, p.Full.Total
	w.hasFull = p.HasFull
	w.n++
}

// avg1 is the percentage of time stalled between the newest reading and
// the newest earlier one at least 3/4 of recentWindow older (so ticks a
// few ms short of a second still count), and false without such a pair.
func (w *psiWindow) avg1() (some, full float64, ok bool) {
	return w.over(recentWindow * 3 / 4)
}

// recent is the percentage of time stalled between the newest reading and
// the newest earlier one at least shortSpan older, and false without such
// a pair. How short the span is depends on how often the source is read:
// the host's every hostSampleEvery while pressure wake-ups are on, else
// (and a tenant's) at each pass.
func (w *psiWindow) recent() (some, full float64, ok bool) {
	return w.over(shortSpan)
}

// over is the percentage of time stalled between the newest reading and
// the newest earlier one at least span older.
func (w *psiWindow) over(span time.Duration) (some, full float64, ok bool) {
	if w.n < 2 {
		return 0, 0, false
	}
	last := w.n - 1
	for i := last - 1; i >= 0; i-- {
		dt := w.at[last] - w.at[i]
		if dt < span {
			continue
		}
		us := float64(dt.Microseconds())
		some = min(100, 100*float64(w.some[last]-w.some[i])/us)
		if w.full[last] >= w.full[i] {
			full = min(100, 100*float64(w.full[last]-w.full[i])/us)
		}
		return some, full, true
	}
	return 0, 0, false
}

// psiSignals gives every signal of one pressure source to put, named
// prefix.<some|full>.<recent|avg1|avg10|avg60|avg300> (full only where the
// kernel has it; recent and avg1 only once the window spans enough time).
func psiSignals(prefix string, p limits.PSI, w *psiWindow, put func(string, float64)) {
	n := psiNamesOf(prefix)
	put(n.some[1], p.Some.Avg10)
	put(n.some[2], p.Some.Avg60)
	put(n.some[3], p.Some.Avg300)
	if p.HasFull {
		put(n.full[1], p.Full.Avg10)
		put(n.full[2], p.Full.Avg60)
		put(n.full[3], p.Full.Avg300)
	}
	if some, full, ok := w.avg1(); ok {
		put(n.some[0], some)
		if p.HasFull {
			put(n.full[0], full)
		}
	}
	if some, full, ok := w.recent(); ok {
		put(n.some[4], some)
		if p.HasFull {
			put(n.full[4], full)
		}
	}
}

// psiNames are the signal names of one pressure source: avg1, avg10,
// avg60, avg300 and recent of its some and full lines.
type psiNames struct{ some, full [5]string }

func makePSINames(prefix string) *psiNames {
	n := &psiNames{}
	for i, avg := range [5]string{"avg1", "avg10", "avg60", "avg300", "recent"} {
		n.some[i] = prefix + ".some." + avg
		n.full[i] = prefix + ".full." + avg
	}
	return n
}

// knownPSINames holds the names of the sources the loop reads every pass
// (host and tenant), made once: the loop would otherwise build 7 strings
// per source per container per pass.
var knownPSINames = func() map[string]*psiNames {
	m := map[string]*psiNames{}
	for _, scope := range []string{"host.", "tenant."} {
		for _, r := range psiResources {
			m[scope+r] = makePSINames(scope + r)
		}
	}
	return m
}()

func psiNamesOf(prefix string) *psiNames {
	if n := knownPSINames[prefix]; n != nil {
		return n
	}
	return makePSINames(prefix)
}
