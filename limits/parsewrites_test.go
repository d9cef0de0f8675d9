package limits

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseWrites(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ws   []Write
		want Resources
	}{
		{"nothing", nil, Resources{}},
		{"cpu.max", []Write{{"cpu.max", "250000 100000"}}, Resources{CPUQuota: ptr(int64(250000)), CPUPeriod: 100000}},
		{"cpu.max max, other period", []Write{{"cpu.max", "max 50000\n"}}, Resources{CPUQuota: ptr(Max), CPUPeriod: 50000}},
		{"weights", []Write{{"cpu.weight", "1"}, {"io.weight", "default 100"}}, Resources{CPUWeight: ptr(uint64(1)), IOWeight: ptr(uint64(100))}},
		{"io.weight bare", []Write{{"io.weight", "250"}}, Resources{IOWeight: ptr(uint64(250))}},
		{"cpusets kept as written", []Write{{"cpuset.cpus", "0,1,2,3"}, {"cpuset.mems", ""}}, Resources{CpusetCPUs: ptr("0,1,2,3"), CpusetMems: ptr("")}},
		{"memory and pids", []Write{{"memory.max", "max"}, {"memory.high", "1048576"}, {"memory.low", "0"}, {"memory.swap.max", "max"}, {"pids.max", " 42 "}},
			Resources{MemoryMax: ptr(Max), MemoryHigh: ptr(int64(1 << 20)), MemoryLow: ptr(int64(0)), SwapMax: ptr(Max), PidsMax: ptr(int64(42))}},
		{"io.max lines, any key order, absent keys max", []Write{
			{"io.max", "254:0 rbps=max wbps=5242880 riops=max wiops=10"},
			{"io.max", "8:0 wiops=max riops=7"},
			{"io.max", "8:16"},
		}, Resources{IOMax: []IOMax{{Major: 254, WBPS: 5242880, WIOPS: 10}, {Major: 8, RIOPS: 7}, {Major: 8, Minor: 16}}}},
	} {
		got, err := ParseWrites(tc.ws)
		if err != nil {
			t.Errorf("%s: ParseWrites(%q): %v", tc.name, tc.ws, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ParseWrites(%q)\n got %+v\nwant %+v", tc.name, tc.ws, got, tc.want)
		}
	}
}

func TestParseWritesGarbage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		w      Write
		syntax bool // wraps ErrSyntax
	}{
		{Write{"cpu.max", "max"}, true}, // the period is always there
		{Write{"cpu.max", "50000 100000 7"}, true},
		{Write{"cpu.max", "-5 100000"}, true},
		{Write{"cpu.max", "50000 0"}, true},
		{Write{"cpu.max", "50000 max"}, true},
		{Write{"cpu.max", ""}, true},
		{Write{"cpu.weight", "default 100"}, true},
		{Write{"cpu.weight", "-1"}, true},
		{Write{"io.weight", "default"}, true},
		{Write{"io.weight", "8:0 100"}, true},
		{Write{"cpuset.cpus", "3-1"}, true},
		{Write{"cpuset.mems", "a"}, true},
		{Write{"memory.max", "lots"}, true},
		{Write{"memory.high", "-1"}, true},
		{Write{"memory.low", "9223372036854775808"}, true},
		{Write{"pids.max", ""}, true},
		{Write{"io.max", ""}, true},
		{Write{"io.max", "254:0 rbps"}, true},
		{Write{"io.max", "x rbps=1"}, true},
		{Write{"io.max", "254:0 foo=1"}, true},
		{Write{"io.max", "254:0 rbps=-1"}, true},
		{Write{"cgroup.freeze", "1"}, false},
		{Write{"memory.min", "0"}, false},
	} {
		_, err := ParseWrites([]Write{tc.w})
		if err == nil {
			t.Errorf("ParseWrites(%q) succeeded; want an error", tc.w)
			continue
		}
		if errors.Is(err, ErrSyntax) != tc.syntax {
			t.Errorf("ParseWrites(%q) = %v; ErrSyntax %v, want %v", tc.w, err, errors.Is(err, ErrSyntax), tc.syntax)
		}
		if !strings.Contains(err.Error(), tc.w.File) || !strings.Contains(err.Error(), tc.w.Value) {
			t.Errorf("ParseWrites(%q) = %v; want the file and the value named", tc.w, err)
		}
	}
	for _, ws := range [][]Write{
		{{"memory.max", "1"}, {"memory.max", "2"}},
		{{"io.max", "8:0 rbps=1"}, {"io.max", "8:0 wbps=1"}},
		{{"pids.max", "10"}, {"pids.max", "x"}},
	} {
		if r, err := ParseWrites(ws); err == nil || !reflect.DeepEqual(r, Resources{}) {
			t.Errorf("ParseWrites(%q) = %+v, %v; want nothing and an error", ws, r, err)
		}
	}
}

func TestParseWritesRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range []Resources{
		{},
		{CPUQuota: ptr(Max), CPUPeriod: DefaultCPUPeriod},
		{CPUQuota: ptr(int64(1000)), CPUPeriod: 1000000, CPUWeight: ptr(uint64(10000))},
		{CpusetCPUs: ptr(""), CpusetMems: ptr("0-1")},
		{MemoryMax: ptr(int64(0)), MemoryHigh: ptr(Max), MemoryLow: ptr(int64(1 << 30)), SwapMax: ptr(int64(1<<63 - 1)), PidsMax: ptr(int64(1))},
		{IOWeight: ptr(uint64(1)), IOMax: []IOMax{
			{Major: 8, Minor: 0, RBPS: 200e6, WBPS: 50e6, RIOPS: 4000, WIOPS: 1000},
			{Major: 8, Minor: 16},
			{Major: 254, Minor: 16, WBPS: 5 << 20},
		}},
		{ // everything, as in TestWritesOrderAndSpelling
			PidsMax: ptr(Max), SwapMax: ptr(int64(0)), MemoryMax: ptr(int64(4 << 30)), MemoryHigh: ptr(int64(3584 << 20)),
			MemoryLow: ptr(int64(1 << 30)), IOWeight: ptr(uint64(100)),
			IOMax:    []IOMax{{Major: 8, Minor: 0, RBPS: 200e6}, {Major: 254, Minor: 16, WBPS: 5 << 20}},
			CPUQuota: ptr(int64(250000)), CPUPeriod: DefaultCPUPeriod, CPUWeight: ptr(uint64(200)), CpusetMems: ptr("0"), CpusetCPUs: ptr("0-3"),
		},
	} {
		ws := r.Writes()
		got, err := ParseWrites(ws)
		if err != nil {
			t.Errorf("ParseWrites(%q): %v", ws, err)
			continue
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("ParseWrites(%q)\n got %+v\nwant %+v", ws, got, r)
		}
	}
	// What does not come back field for field still writes the same.
	for _, r := range []Resources{
		{CPUQuota: ptr(int64(50000))}, // CPUPeriod 0: DefaultCPUPeriod
		{PidsMax: ptr(int64(-7))},     // any negative is "max"
		{IOMax: []IOMax{{Major: 254, WBPS: 1}, {Major: 8, RBPS: 1}}},
	} {
		got, err := ParseWrites(r.Writes())
		if err != nil || !slices.Equal(got.Writes(), r.Writes()) {
			t.Errorf("%+v: writes %q, after a round trip %q (%v)", r, r.Writes(), got.Writes(), err)
		}
	}
}
