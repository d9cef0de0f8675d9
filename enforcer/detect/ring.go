package detect

import (
	"math"
	"time"
)

// ringBuckets is the number of buckets per unit and flat-cpu window: the
// memory kept per unit is fixed whatever the window and tick rate.
const ringBuckets = 32

// bucket aggregates the samples of one slice of the window.
type bucket struct {
	n          int64 // absolute bucket number (time / width); -1 = empty
	count      float64
	sum, sumSq float64
	min        float64
}

// cpuRing keeps the CPU samples of one unit over a window as ringBuckets
// aggregates (count, sum, sum of squares, minimum), enough for the exact
// mean and standard deviation of the samples in the window (up to one
// bucket's width of slack at its old end).
type cpuRing struct {
	width   time.Duration
	buckets [ringBuckets]bucket
	first   time.Time // start of the current uninterrupted run of samples
	last    time.Time
}

func newCPURing(window time.Duration) *cpuRing {
	r := &cpuRing{width: max(window/ringBuckets, time.Millisecond)}
	r.reset()
	return r
}

func (r *cpuRing) reset() {
	for i := range r.buckets {
		r.buckets[i] = bucket{n: -1}
	}
	r.first, r.last = time.Time{}, time.Time{}
}

// add records a sample. A gap longer than maxGap since the previous sample,
// or a sample going back in time, restarts the run (the history no longer
// shows a sustained load).
func (r *cpuRing) add(now time.Time, cpus float64, maxGap time.Duration) {
	if !r.last.IsZero() && (now.Sub(r.last) > maxGap || now.Before(r.last)) {
		r.reset()
	}
	if r.first.IsZero() {
		r.first = now
	}
	r.last = now
	n := now.UnixNano() / int64(r.width)
	b := &r.buckets[n%ringBuckets]
	if b.n != n {
		*b = bucket{n: n, min: math.Inf(1)}
	}
	b.count++
	b.sum += cpus
	b.sumSq += cpus * cpus
	b.min = min(b.min, cpus)
}

// stats returns the number of samples, their mean, standard deviation and
// minimum over the buckets of the window ending at now, and how long the
// current uninterrupted run of samples has lasted.
func (r *cpuRing) stats(now time.Time) (count, mean, stddev, lo float64, covered time.Duration) {
	cur := now.UnixNano() / int64(r.width)
	lo = math.Inf(1)
	var sum, sumSq float64
	for i := range r.buckets {
		b := &r.buckets[i]
		if b.n < 0 || b.n <= cur-ringBuckets || b.n > cur {
			continue
		}
		count += b.count
		sum += b.sum
		sumSq += b.sumSq
		lo = min(lo, b.min)
	}
	if count == 0 {
		return 0, 0, 0, 0, 0
	}
	mean = sum / count
	stddev = math.Sqrt(max(sumSq/count-mean*mean, 0))
	if !r.first.IsZero() {
		covered = now.Sub(r.first)
	}
	return count, mean, stddev, lo, covered
}
