package desire

import (
	"reflect"
	"testing"

	"github.com/quell-dev/quell/limits"
)

// merge's why: the plan and the limit events say which of the tenant's
// split and the per-container cap set each file.
func TestMergeSaysWhichFilesTheCapDecided(t *testing.T) {
	t.Parallel()
	n := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	share := limits.Resources{CPUQuota: n(200000), CPUPeriod: limits.DefaultCPUPeriod, MemoryMax: n(1 << 30), MemoryHigh: n(limits.Max),
		PidsMax: n(100), CPUWeight: u(50), IOMax: []limits.IOMax{{Major: 8, RBPS: 10, WBPS: 10}, {Major: 9, RBPS: 10}}}
	why := map[string]string{"cpu.max": "split", "memory.max": "split", "memory.high": "split", "pids.max": "split", "cpu.weight": "split", "io.max": "split"}
	caps := limits.Resources{CPUQuota: n(100000), CPUPeriod: limits.DefaultCPUPeriod, MemoryMax: n(2 << 30), MemoryHigh: n(limits.Max),
		PidsMax: n(100), SwapMax: n(0), CPUWeight: u(100), IOMax: []limits.IOMax{{Major: 9, RBPS: 20, WIOPS: 5}}}
	got, gotWhy := merge(share, why, caps, "cap")
	want := limits.Resources{CPUQuota: n(100000), CPUPeriod: limits.DefaultCPUPeriod, MemoryMax: n(1 << 30), MemoryHigh: n(limits.Max),
		PidsMax: n(100), SwapMax: n(0), CPUWeight: u(100), IOMax: []limits.IOMax{{Major: 8, RBPS: 10, WBPS: 10}, {Major: 9, RBPS: 10, WIOPS: 5}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merge = %+v\nwant %+v", got, want)
	}
	wantWhy := map[string]string{
		"cpu.max":         "cap",   // the cap's is tighter
		"memory.max":      "split", // the split's is tighter
		"memory.high":     "cap",   // both max: the cap says so too
		"pids.max":        "cap",   // equal: the cap's holds
		"memory.swap.max": "cap",   // only the cap sets it
		"cpu.weight":      "cap",   // not a ceiling: the cap's wins
		"io.max":          "cap",   // the cap added wiops on 9:0
	}
	if !reflect.DeepEqual(gotWhy, wantWhy) {
		t.Errorf("why = %v\nwant %v", gotWhy, wantWhy)
	}
	// A cap looser than the split everywhere decides nothing.
	loose := limits.Resources{MemoryMax: n(4 << 30), IOMax: []limits.IOMax{{Major: 8, RBPS: 100}}}
	if _, w := merge(share, why, loose, "cap"); !reflect.DeepEqual(w, why) {
		t.Errorf("why with a looser cap = %v, want %v", w, why)
	}
	if why["cpu.max"] != "split" {
		t.Error("merge changed the caller's why")
	}
}
