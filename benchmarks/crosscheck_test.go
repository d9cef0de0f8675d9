package benchmarks

import (
	"strings"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/quell-dev/quell/limits"
)

func u(x uint64) *uint64 { return &x }

func TestCrossCheckAgreesAndDisagrees(t *testing.T) {
	t.Parallel()
	a := limits.Stats{CPU: &limits.CPUStat{UsageUsec: 1000, UserUsec: 600, SystemUsec: 400}, MemoryCurrent: u(64 << 20), PidsCurrent: u(24),
		IO: &limits.IOStat{Devices: []limits.IODevice{{Major: 8, Minor: 0, RBytes: 4096, WBytes: 0, RIOs: 1}}}}
	b := a
	b.CPU = &limits.CPUStat{UsageUsec: 1100, UserUsec: 650, SystemUsec: 450}
	theirs := &stats.Metrics{CPU: &stats.CPUStat{UsageUsec: 1050, UserUsec: 620, SystemUsec: 430},
		Memory: &stats.MemoryStat{Usage: 64 << 20}, Pids: &stats.PidsStat{Current: 24},
		Io: &stats.IOStat{Usage: []*stats.IOEntry{{Major: 8, Minor: 0, Rbytes: 4096, Rios: 1}}}}
	n, err := judgeCross(crossFigures(a, b, theirs))
	if err != nil || n != 9 {
		t.Fatalf("agreeing reads: %d figures, %v; want 9, nil", n, err)
	}
	// cgroup2 turns a failed read into 0: that must disagree, loudly.
	theirs.Pids.Current = 0
	theirs.CPU.UsageUsec = 2000
	if _, err := judgeCross(crossFigures(a, b, theirs)); err == nil || !strings.Contains(err.Error(), "pids.current") || !strings.Contains(err.Error(), "usage_usec") {
		t.Fatalf("disagreeing reads: %v", err)
	}
	// A device quell read but cgroup2 did not.
	theirs = &stats.Metrics{Io: &stats.IOStat{}}
	if _, err := judgeCross(crossFigures(a, b, theirs)); err == nil || !strings.Contains(err.Error(), "missing in cgroup2") {
		t.Fatalf("missing device: %v", err)
	}
	if _, err := judgeCross(nil); err == nil {
		t.Fatal("no figure at all must fail")
	}
}

// memory.current moves a per-CPU charge batch at a time: one batch apart
// agrees, more does not.
func TestCrossCheckMemoryCurrentBatchSlack(t *testing.T) {
	t.Parallel()
	small := uint64(2871296)
	a := limits.Stats{MemoryCurrent: u(small)}
	theirs := &stats.Metrics{Memory: &stats.MemoryStat{Usage: small - 64*4096}}
	if _, err := judgeCross(crossFigures(a, a, theirs)); err != nil {
		t.Fatalf("one charge batch apart: %v", err)
	}
	theirs.Memory.Usage = small - memcgBatch() - small/20
	if _, err := judgeCross(crossFigures(a, a, theirs)); err == nil {
		t.Fatal("more than the batches and the 2% apart must disagree")
	}
}
