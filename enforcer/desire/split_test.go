package desire

import (
	"math"
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

func TestSplitBytes(t *testing.T) {
	t.Parallel()
	const mi = 1 << 20
	got := SplitBytes(1000*mi, []int64{100 * mi, 300 * mi}, -1)
	if got[0] != 700*mi || got[1] != 900*mi {
		t.Fatalf("SplitBytes = %v, want each current + 600 MiB headroom", got)
	}
	got = SplitBytes(1000*mi, []int64{100 * mi, 300 * mi}, 500*mi)
	if got[0] != 500*mi || got[1] != 500*mi {
		t.Fatalf("capped SplitBytes = %v, want 500 MiB each", got)
	}
	got = SplitBytes(1000<<20, []int64{800 << 20, 400 << 20}, -1)
	if got[0] != 800<<20+SplitSlack || got[1] != 400<<20+SplitSlack {
		t.Fatalf("over-limit tenant: %v, want members held at current use plus the slack", got)
	}
	got = SplitBytes(1000<<20, []int64{600 << 20, 399 << 20}, -1)
	if got[0] != 600<<20+SplitSlack || got[1] != 399<<20+SplitSlack {
		t.Fatalf("tenant 1 MiB under its limit: %v, want each member its use plus the 1 MiB slack, not less", got)
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
