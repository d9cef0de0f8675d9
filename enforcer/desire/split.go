package desire

import (
	"math"
	"sort"
)

// Member is one container of a tenant in split mode, with what the last
// interval observed of it.
type Member struct {
	Cgroup string
	// CPU usage over the last interval, in CPUs, and the quota quell gave it
	// then (0 when none yet).
	CPUs, LastQuota float64
	// Throttled is true when the kernel throttled it in the last interval
	// (nr_throttled grew): it wanted more than its quota.
	Throttled bool
	Memory    int64 // memory.current, bytes
	Swap      int64 // memory.swap.current, bytes
	Pids      int64 // pids.current
}

// Share is one member's part of the tenant's aggregate.
type Share struct {
	CPUs   float64 // 0 = no CPU aggregate
	Memory int64   // -1 = no memory aggregate
	Swap   int64   // -1 = no swap aggregate
	Pids   int64   // -1 = no pids aggregate
}

// minCPU is the smallest quota a member gets, so an idle container can wake
// up and show demand (1 ms per 100 ms period).
const minCPU = 0.01

// SplitCPU divides total CPUs among members by demand, work-conserving, so
// that the shares always add up to exactly total (the tenant can never
// exceed its aggregate in any period) and an idle member's share goes to its
// busy siblings.
//
// Demand is the last usage plus 10% headroom; a member that the kernel
// throttled, or that used 80% or more of its last quota, is assumed to want more (at least an equal part of total
// and twice its last quota), so a member that wakes up gets its fair part
// in the next interval and any idle sibling's share within a few more. The division is water-filling: members
// wanting less than an equal part get what they want, the rest share what is
// left equally. Whatever no one demands is spread equally.
func SplitCPU(total float64, ms []Member) []float64 {
	n := len(ms)
	out := make([]float64, n)
	if n == 0 || total <= 0 {
		return out
	}
	floor := minCPU
	if floor*float64(n) > total {
		floor = total / float64(n)
	}
	demand := make([]float64, n)
	for i, m := range ms {
		d := m.CPUs*1.1 + floor
		if m.LastQuota > 0 && (m.Throttled || m.CPUs >= 0.8*m.LastQuota) {
			// Saturated: it wants at least its fair part, and twice what it had.
			d = math.Max(d, math.Max(2*m.LastQuota, total/float64(n)))
		}
		demand[i] = d
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return demand[order[a]] < demand[order[b]] })
	left := total
	for k, i := range order {
		fair := left / float64(n-k)
		give := demand[i]
		if give > fair {
			give = fair
		}
		if give < floor {
			give = floor
		}
		out[i] = give
		left -= give
	}
	if left > 1e-9 { // nobody wants it: spread it, work-conserving
		for i := range out {
			out[i] += left / float64(n)
		}
	}
	return out
}

// SplitBytes gives each member what it uses now plus all of the tenant's
// headroom (total minus what all members use), capped by cap (-1 = none).
// A member can therefore grow as long as the tenant as a whole is under its
// limit, and is never OOM-killed by the split alone. If several members grow
// in the same interval the sum may pass total; the tenant is then held where
// it is until members free memory: each member at its current use plus
// SplitSlack, never below (which could OOM-kill a member that did nothing
// wrong).
//
// The slack is there because "its current use" is a moment's reading: the
// kernel charges in per-CPU batches of 64 pages, and an idle process still
// faults a page now and then. Pinned at exactly its use, a member that did
// nothing wrong was OOM-killed in the lab (by the memory.max write itself,
// or by its next page fault) while a sibling was the one growing. A tenant
// at its limit may so pass it by up to SplitSlack per member.
func SplitBytes(total int64, used []int64, cap int64) []int64 {
	var sum int64
	for _, u := range used {
		sum += u
	}
	head := max(total-sum, SplitSlack)
	out := make([]int64, len(used))
	for i, u := range used {
		v := u + head
		if cap >= 0 && v > cap {
			v = cap
		}
		out[i] = v
	}
	return out
}

// SplitSlack is the least room above its current use a split gives a
// member (see SplitBytes).
const SplitSlack = 1 << 20

// SplitEven divides total equally, at least min each.
func SplitEven(total uint64, n int, min uint64) uint64 {
	if n <= 0 {
		return total
	}
	v := total / uint64(n)
	if v < min {
		v = min
	}
	return v
}

// stableFraction is the smallest change of a member's share, as a fraction
// of the tenant's total, worth rewriting cpu.max for.
const stableFraction = 0.05

// Stable returns last (each member's LastQuota) instead of next when no
// member's share would move by more than 5% of total and last was a
// complete split of total among the same members; otherwise next. Either
// way the shares add up to total, so the tenant's aggregate holds while
// cpu.max is not rewritten every interval for noise.
func Stable(next []float64, ms []Member, total float64) []float64 {
	var sum float64
	for i, m := range ms {
		if m.LastQuota <= 0 || math.Abs(next[i]-m.LastQuota) > stableFraction*total {
			return next
		}
		sum += m.LastQuota
	}
	if math.Abs(sum-total) > 1e-6*total {
		return next // members came or went: the old split no longer adds up
	}
	last := make([]float64, len(ms))
	for i, m := range ms {
		last[i] = m.LastQuota
	}
	return last
}
