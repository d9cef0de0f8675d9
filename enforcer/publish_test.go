package enforcer

import (
	"testing"

	"github.com/quell-dev/quell/enforcer/view"
)

// The values in force become the numbers cli and metrics show; what does
// not parse, and "max", show as no limit rather than a made-up one.
func TestSetOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{
		"250000 100000": 2.5, "50000 100000": 0.5, "25000 50000": 0.5, "max 100000": 0, "": 0, "garbage": 0, "100000 0": 0,
		"unreadable: no such file": 0,
	} {
		if got := setOf([]view.Limit{{File: "cpu.max", Value: in}}).CPUs; got != want {
			t.Errorf("cpu.max %q: CPUs = %v, want %v", in, got, want)
		}
	}
	got := setOf([]view.Limit{{File: "cpu.max", Value: "250000 100000"}, {File: "memory.max", Value: "1073741824\n"},
		{File: "memory.swap.max", Value: "max"}, {File: "pids.max", Value: "4096"}, {File: "memory.high", Value: "5"}, {File: "io.max", Value: "8:0 rbps=5"}})
	if want := (view.ContainerLimits{CPUs: 2.5, MemoryBytes: 1 << 30, Pids: 4096}); got != want {
		t.Errorf("setOf = %+v, want %+v", got, want)
	}
	if got := setOf([]view.Limit{{File: "pids.max", Value: "garbage"}, {File: "memory.max", Value: "4096"}}); got != (view.ContainerLimits{MemoryBytes: 4096}) {
		t.Errorf("one unparsable value must leave the others: %+v", got)
	}
}
