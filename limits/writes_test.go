package limits

import (
	"math"
	"slices"
	"testing"
)

func TestWritesOrderAndSpelling(t *testing.T) {
	t.Parallel()
	r := Resources{
		PidsMax:    ptr(Max),
		SwapMax:    ptr(int64(0)),
		MemoryMax:  ptr(int64(4 << 30)),
		MemoryHigh: ptr(int64(3584 << 20)),
		MemoryLow:  ptr(int64(1 << 30)),
		IOWeight:   ptr(uint64(100)),
		IOMax: []IOMax{
			{Major: 254, Minor: 16, WBPS: 5 << 20},
			{Major: 8, Minor: 0, RBPS: 200e6, WBPS: 50e6, RIOPS: 4000, WIOPS: 1000},
		},
		CPUQuota:   ptr(int64(250000)),
		CPUWeight:  ptr(uint64(200)),
		CpusetMems: ptr("0"),
		CpusetCPUs: ptr("0-3"),
	}
	want := []Write{
		{"cpuset.cpus", "0-3"},
		{"cpuset.mems", "0"},
		{"cpu.weight", "200"},
		{"cpu.max", "250000 100000"},
		{"io.weight", "default 100"},
		{"io.max", "8:0 rbps=200000000 wbps=50000000 riops=4000 wiops=1000"},
		{"io.max", "254:16 rbps=max wbps=5242880 riops=max wiops=max"},
		{"memory.low", "1073741824"},
		{"memory.high", "3758096384"},
		{"memory.max", "4294967296"},
		{"memory.swap.max", "0"},
		{"pids.max", "max"},
	}
	if got := r.Writes(); !slices.Equal(got, want) {
		t.Errorf("Writes:\n got %q\nwant %q", got, want)
	}
	// The caller's slice is not reordered.
	if r.IOMax[0].Major != 254 {
		t.Error("Writes sorted the caller's IOMax")
	}
}

func TestWritesCPU(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r    Resources
		want []Write
	}{
		{Resources{}, nil},
		{Resources{CPUPeriod: 50000}, nil},
		{Resources{CPUQuota: ptr(Max)}, []Write{{"cpu.max", "max 100000"}}},
		{Resources{CPUQuota: ptr(int64(25000)), CPUPeriod: 50000}, []Write{{"cpu.max", "25000 50000"}}},
	} {
		if got := tc.r.Writes(); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: got %q want %q", tc.r, got, tc.want)
		}
	}
}

func TestCPUQuotaFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cpus   float64
		period uint64
		want   int64
	}{
		{2.5, 100000, 250000},
		{0.5, 0, 50000},
		{1, 50000, 50000},
		{0.333333, 100000, 33333},
		{0.001, 100000, 1000},
		{0.0001, 100000, 1000},
		{0, 100000, 1000},
		{-3, 100000, 1000},
		{math.NaN(), 100000, 1000},
		{math.Inf(1), 100000, Max},
	} {
		if got := CPUQuotaFor(tc.cpus, tc.period); got != tc.want {
			t.Errorf("CPUQuotaFor(%v, %d) = %d, want %d", tc.cpus, tc.period, got, tc.want)
		}
	}
}
