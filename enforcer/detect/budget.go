package detect

import "time"

// budget allows at most max evictions in any sliding window of length per.
// Its memory is bounded by max.
type budget struct {
	max   int
	per   time.Duration
	times []time.Time // evictions inside the window, oldest first
}

func (b *budget) prune(now time.Time) {
	i := 0
	for i < len(b.times) && now.Sub(b.times[i]) >= b.per {
		i++
	}
	b.times = append(b.times[:0], b.times[i:]...)
}

// allow reports whether one more eviction fits in the window at now.
func (b *budget) allow(now time.Time) bool {
	b.prune(now)
	return len(b.times) < b.max
}

// spend records an eviction at now; call only after allow returned true.
func (b *budget) spend(now time.Time) { b.times = append(b.times, now) }

// used is the number of evictions in the window ending at now.
func (b *budget) used(now time.Time) int {
	b.prune(now)
	return len(b.times)
}
