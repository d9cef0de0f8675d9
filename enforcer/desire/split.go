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
	// MaxCPUs is the most CPU it may get (the runtime's cpu.max or its
	// per-container cap), 0 when unbounded: it is never given more, and
	// what it cannot take goes to its siblings.
	MaxCPUs float64
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
// left equally. Whatever no one demands is spread equally. A member is
// never given more than its MaxCPUs; when every member is bounded below
// its part, the shares may add up to less than total.
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
		if m.MaxCPUs > 0 {
			d = math.Min(d, m.MaxCPUs)
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
		if m := ms[i].MaxCPUs; m > 0 && give > m {
			give = m
		}
		out[i] = give
		left -= give
	}
	// Nobody wants it: spread it, work-conserving, among the members that
	// may take more.
	for round := 0; left > 1e-9 && round <= n; round++ {
		var open []int
		for i := range out {
			if ms[i].MaxCPUs <= 0 || out[i] < ms[i].MaxCPUs-1e-12 {
				open = append(open, i)
			}
		}
		if len(open) == 0 {
			break
		}
		part := left / float64(len(open))
		for _, i := range open {
			give := part
			if m := ms[i].MaxCPUs; m > 0 {
				give = math.Min(give, m-out[i])
			}
			out[i] += give
			left -= give
		}
	}
	return out
}

// Bytes is one member's side of a split of bytes or tasks (memory, swap,
// pids).
type Bytes struct {
	Used int64 // what it uses now (memory.current, memory.swap.current, pids.current)
	Last int64 // the limit it got at the last split; negative when none
	Cap  int64 // the most it may get (per-container cap, runtime ceiling); negative when none
}

// SplitBytes divides total among members so that their limits add up to
// total: each gets what it uses now plus a part of the tenant's headroom
// (total minus what all members use), the headroom water-filled equally
// (a member whose Cap leaves it less room than an equal part gets its Cap,
// and its siblings share the rest). A member can therefore grow by its
// part each interval, and the tenant as a whole never past total, however
// many members grow at once.
//
// Every member first gets slack above its use (memory: the kernel charges
// in per-CPU batches of 64 pages and an idle process still faults a page
// now and then, so a member pinned at exactly its use was OOM-killed in
// the lab while a sibling was the one growing), but never more than it got
// at the last split (Last), and the headroom left after that is what is
// divided. When the headroom is less than slack per member the tenant may
// so pass total by at most slack per member, once, and is held there until
// members free some: the slack never ratchets up pass after pass (the code
// this replaces gave every member all of the headroom and at least 1 MiB,
// for pids as for bytes: pids = 40 over two containers reached 124). Cap
// bounds every result. total 0 gives everyone 0 (swap "0": no swap).
func SplitBytes(total, slack int64, ms []Bytes) []int64 {
	n := len(ms)
	out := make([]int64, n)
	if n == 0 || total <= 0 {
		return out
	}
	// Each member's base: its use plus the slack, no more than it had
	// and no more than its cap.
	var sum int64
	room := make([]int64, n)
	for i, m := range ms {
		floor := m.Used + slack
		if m.Last >= 0 && m.Last < floor {
			floor = m.Last
		}
		out[i] = max(m.Used, floor)
		room[i] = math.MaxInt64
		if m.Cap >= 0 {
			out[i] = min(out[i], m.Cap)
			room[i] = m.Cap - out[i]
		}
		sum += out[i]
	}
	// The headroom left, water-filled on top.
	base := append([]int64(nil), out...)
	waterFill(out, room, max(total-sum, 0))
	// A member's use was read a moment ago: since then it may have grown
	// up to the limit it had (Last). Raising one member above its Last
	// while a sibling is lowered from its own would let the sibling keep
	// what it took in that moment and the raised one take its new room:
	// together over total (a member forking as fast as it can did so in
	// the lab). So raises above Last come only out of what no member can
	// hold even at its old limit; what a lowered member frees is given
	// out at the next split, once it is in force. A member without a Last
	// (new to the split: nothing held it before) is counted at its new
	// limit.
	committed := int64(0)
	raise := make([]int64, n)
	for i, m := range ms {
		if m.Last < 0 {
			committed += out[i]
			continue
		}
		c := max(base[i], m.Last)
		if out[i] > c {
			raise[i], out[i] = out[i]-c, c
		}
		committed += c
	}
	waterFill(out, raise, max(total-committed, 0))
	return out
}

// waterFill adds left to out, at most room[i] to each, equal parts first
// to whoever has the least room.
func waterFill(out, room []int64, left int64) {
	n := len(out)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return room[order[a]] < room[order[b]] })
	for k, i := range order {
		give := min(room[i], left/int64(n-k))
		out[i] += give
		left -= give
	}
}

// The least room above its current use a split gives a member, per
// resource (see SplitBytes).
const (
	MemorySlack int64 = 1 << 20 // bytes: the kernel's per-CPU charge batches
	SwapSlack   int64 = 1 << 20 // bytes
	PidsSlack   int64 = 2       // tasks: pids.current is exact, a fork or two in flight
)

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
