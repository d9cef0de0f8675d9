package desire

import (
	"math"
	"math/rand"
	"testing"
)

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

func TestSplitCPUAlwaysAddsUpToTotal(t *testing.T) {
	t.Parallel()
	cases := [][]Member{
		{{CPUs: 0}, {CPUs: 0}, {CPUs: 0}},
		{{CPUs: 2}, {CPUs: 2}, {CPUs: 2}},
		{{CPUs: 0.5, LastQuota: 0.5}, {CPUs: 0.01, LastQuota: 0.5}, {CPUs: 0.5, LastQuota: 0.5}},
		{{CPUs: 9}},
	}
	for i, ms := range cases {
		got := SplitCPU(1.5, ms)
		if math.Abs(sum(got)-1.5) > 1e-9 {
			t.Errorf("case %d: shares %v add up to %v, want 1.5", i, got, sum(got))
		}
		for _, g := range got {
			if g < minCPU {
				t.Errorf("case %d: share %v below the floor", i, g)
			}
		}
	}
}

func TestSplitCPUIdleShareGoesToBusySiblings(t *testing.T) {
	t.Parallel()
	// Three busy members held at 0.5 each; then one goes idle.
	ms := []Member{{CPUs: 0.5, LastQuota: 0.5}, {CPUs: 0.5, LastQuota: 0.5}, {CPUs: 0.5, LastQuota: 0.5}}
	got := SplitCPU(1.5, ms)
	for _, g := range got {
		if math.Abs(g-0.5) > 1e-9 {
			t.Fatalf("equal demand: shares %v, want 0.5 each", got)
		}
	}
	for round := 0; round < 5; round++ {
		ms[2].CPUs = 0
		ms[0].CPUs, ms[1].CPUs = ms[0].LastQuota, ms[1].LastQuota // busy ones use all they get
		got = SplitCPU(1.5, ms)
		for i := range ms {
			ms[i].LastQuota = got[i]
		}
	}
	if got[2] > 0.05 || got[0] < 0.72 || got[1] < 0.72 {
		t.Fatalf("after the idle member stopped: shares %v, want ~0.74 for the busy two", got)
	}
}

func TestSplitCPUFollowsDemandWithinFewIntervals(t *testing.T) {
	t.Parallel()
	ms := []Member{{CPUs: 0.05, LastQuota: 0.1}, {CPUs: 1.4, LastQuota: 1.4}}
	// Member 0 starts a busy loop: it saturates what it gets each interval.
	for round := 0; round < 6; round++ {
		got := SplitCPU(1.5, ms)
		ms[0].LastQuota, ms[1].LastQuota = got[0], got[1]
		ms[0].CPUs, ms[1].CPUs = got[0], got[1]
	}
	if math.Abs(ms[0].LastQuota-0.75) > 0.01 || math.Abs(ms[1].LastQuota-0.75) > 0.01 {
		t.Fatalf("two saturated members: %v / %v, want 0.75 each", ms[0].LastQuota, ms[1].LastQuota)
	}
}

func sumInts(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

// The members' limits add up to the tenant's total: each gets its use
// plus an equal part of the headroom (a bounded member its bound, the rest
// to its siblings).
func TestSplitBytesAddsUpToTotal(t *testing.T) {
	t.Parallel()
	const mi = 1 << 20
	got := SplitBytes(1000*mi, MemorySlack, []Bytes{{Used: 100 * mi, Last: -1, Cap: -1}, {Used: 300 * mi, Last: -1, Cap: -1}})
	if got[0] != 400*mi || got[1] != 600*mi {
		t.Fatalf("SplitBytes = %v, want each its use + 300 MiB (half the headroom)", got)
	}
	if s := sumInts(got); s != 1000*mi {
		t.Fatalf("SplitBytes = %v adds up to %d, want the total", got, s)
	}
	got = SplitBytes(1000*mi, MemorySlack, []Bytes{{Used: 100 * mi, Last: -1, Cap: 150 * mi}, {Used: 300 * mi, Last: -1, Cap: -1}})
	if got[0] != 150*mi || got[1] != 850*mi {
		t.Fatalf("SplitBytes with a bound member = %v, want 150 MiB (its bound) and the rest, 850 MiB", got)
	}
	got = SplitBytes(1000*mi+1, MemorySlack, []Bytes{{Last: -1, Cap: -1}, {Last: -1, Cap: -1}, {Last: -1, Cap: -1}})
	if s := sumInts(got); s != 1000*mi+1 {
		t.Fatalf("idle members: %v add up to %d, want exactly the total", got, s)
	}
	// The case: pids = 40 over two containers, each with a shell.
	got = SplitBytes(40, PidsSlack, []Bytes{{Used: 1, Last: -1, Cap: -1}, {Used: 1, Last: -1, Cap: -1}})
	if got[0] != 20 || got[1] != 20 {
		t.Fatalf("pids 40 over two members: %v, want 20 each (was 1048577 each)", got)
	}
	if got := SplitBytes(0, SwapSlack, []Bytes{{Used: 5 * mi, Last: -1, Cap: -1}}); got[0] != 0 {
		t.Fatalf(`swap "0": %v, want 0`, got)
	}
}

// A tenant at or over its total: each member keeps its use plus the
// slack, never more than it had (so the slack does not ratchet up pass
// after pass), and both members forking until refused end at the total.
func TestSplitBytesHeldAtTheTotalWithoutRatchet(t *testing.T) {
	t.Parallel()
	const mi = 1 << 20
	got := SplitBytes(1000*mi, MemorySlack, []Bytes{{Used: 800 * mi, Last: -1, Cap: -1}, {Used: 400 * mi, Last: -1, Cap: -1}})
	if got[0] != 800*mi+MemorySlack || got[1] != 400*mi+MemorySlack {
		t.Fatalf("over-limit tenant seen first: %v, want members held at their use plus the slack", got)
	}
	got = SplitBytes(1000*mi, MemorySlack, []Bytes{{Used: 600 * mi, Last: 600 * mi, Cap: -1}, {Used: 399 * mi, Last: 400 * mi, Cap: -1}})
	if got[0] != 600*mi || got[1] != 400*mi {
		t.Fatalf("tenant at its limit: %v, want each no more than it had (600, 400 MiB)", got)
	}
	// Two members that grow into whatever they get, pass after pass.
	for _, c := range []struct {
		name         string
		total, slack int64
	}{{"pids", 40, PidsSlack}, {"memory", 64 * mi, MemorySlack}, {"swap", 32 * mi, SwapSlack}} {
		ms := []Bytes{{Used: 1, Last: -1, Cap: -1}, {Used: 1, Last: -1, Cap: -1}}
		for pass := 0; pass < 50; pass++ {
			got := SplitBytes(c.total, c.slack, ms)
			if s := sumInts(got); s > c.total {
				t.Fatalf("%s pass %d: limits %v add up to %d, over the total %d", c.name, pass, got, s, c.total)
			}
			for i := range ms {
				ms[i].Used, ms[i].Last = got[i], got[i]
			}
		}
		if s := ms[0].Used + ms[1].Used; s != c.total {
			t.Errorf("%s: growing members reached %d, want the whole total %d", c.name, s, c.total)
		}
	}
}

// A member bounded by its runtime's cpu.max is never given more; its
// siblings get what it cannot take.
func TestSplitCPURespectsMaxCPUs(t *testing.T) {
	t.Parallel()
	got := SplitCPU(2, []Member{{CPUs: 0.2, LastQuota: 0.2, Throttled: true, MaxCPUs: 0.2}, {CPUs: 1, LastQuota: 1, Throttled: true}})
	if math.Abs(got[0]-0.2) > 1e-9 || math.Abs(got[1]-1.8) > 1e-9 {
		t.Fatalf("shares %v, want 0.2 (its runtime's bound) and 1.8", got)
	}
	got = SplitCPU(2, []Member{{MaxCPUs: 0.2}, {MaxCPUs: 0.5}})
	if math.Abs(got[0]-0.2) > 1e-9 || math.Abs(got[1]-0.5) > 1e-9 {
		t.Fatalf("all bounded: %v, want 0.2 and 0.5", got)
	}
}

func TestStableKeepsSmallMovesAndAlwaysAddsUp(t *testing.T) {
	t.Parallel()
	ms := []Member{{LastQuota: 0.74}, {LastQuota: 0.76}}
	if got := Stable([]float64{0.76, 0.74}, ms, 1.5); got[0] != 0.74 || got[1] != 0.76 {
		t.Fatalf("a 0.02 CPU wobble rewrote the split: %v", got)
	}
	if got := Stable([]float64{0.95, 0.55}, ms, 1.5); got[0] != 0.95 {
		t.Fatalf("a 0.21 CPU move was held back: %v", got)
	}
	ms = append(ms, Member{LastQuota: 0})
	if got := Stable([]float64{0.5, 0.5, 0.5}, ms, 1.5); sum(got) != 1.5 || got[2] != 0.5 {
		t.Fatalf("a new member must get the new split: %v", got)
	}
	// The old split must add up to total to be kept (a member left).
	if got := Stable([]float64{0.76}, []Member{{LastQuota: 0.74}}, 1.5); got[0] != 0.76 {
		t.Fatalf("an incomplete old split was kept: %v", got)
	}
}

// Members that grow into whatever they are given, also in the moment
// between the reading of their use and the writing of their new limits
// (bounded then by their old limits), never hold more than the tenant's
// total together: a rebalance lowers first and raises at the next split.
func TestSplitBytesHoldsWhileMembersGrowDuringTheSplit(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewSource(12))
	for trial := 0; trial < 5000; trial++ {
		const total = 40
		u := []int64{1, 1, 1}
		lim := []int64{math.MaxInt64, math.MaxInt64, math.MaxInt64}
		last := []int64{-1, -1, -1}
		grow := func() {
			for i := range u {
				if g := int64(r.Intn(12)); u[i] < lim[i] {
					u[i] = min(u[i]+g, lim[i])
				}
			}
		}
		for pass := 0; pass < 15; pass++ {
			seen := append([]int64(nil), u...)
			if pass > 0 {
				grow() // between the reading and the writing
			}
			bs := make([]Bytes, len(u))
			for i := range u {
				bs[i] = Bytes{Used: seen[i], Last: last[i], Cap: -1}
			}
			got := SplitBytes(total, PidsSlack, bs)
			copy(lim, got)
			copy(last, got)
			grow()
			if s := sumInts(u); s > total {
				t.Fatalf("trial %d pass %d: members hold %v = %d tasks, over %d (limits %v)", trial, pass, u, s, total, lim)
			}
		}
	}
}
