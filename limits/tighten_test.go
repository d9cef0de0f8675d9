package limits

import (
	"reflect"
	"testing"
)

func TestTighten(t *testing.T) {
	t.Parallel()
	n := func(v int64) *int64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		name string
		r, o Resources
		want Resources
	}{
		{name: "nothing", want: Resources{}},

		// Ceilings: the lower wins, nil is "not set", Max the loosest.
		{name: "memory.max lower of o", r: Resources{MemoryMax: n(4 << 30)}, o: Resources{MemoryMax: n(1 << 30)}, want: Resources{MemoryMax: n(1 << 30)}},
		{name: "memory.max lower of r", r: Resources{MemoryMax: n(1 << 30)}, o: Resources{MemoryMax: n(4 << 30)}, want: Resources{MemoryMax: n(1 << 30)}},
		{name: "memory.high only in o", o: Resources{MemoryHigh: n(100)}, want: Resources{MemoryHigh: n(100)}},
		{name: "memory.high only in r", r: Resources{MemoryHigh: n(100)}, want: Resources{MemoryHigh: n(100)}},
		{name: "swap.max r max", r: Resources{SwapMax: n(Max)}, o: Resources{SwapMax: n(0)}, want: Resources{SwapMax: n(0)}},
		{name: "swap.max o max", r: Resources{SwapMax: n(0)}, o: Resources{SwapMax: n(Max)}, want: Resources{SwapMax: n(0)}},
		{name: "pids.max both max", r: Resources{PidsMax: n(Max)}, o: Resources{PidsMax: n(Max)}, want: Resources{PidsMax: n(Max)}},
		{name: "pids.max o max, r unset: o sets it", o: Resources{PidsMax: n(Max)}, want: Resources{PidsMax: n(Max)}},
		{name: "pids.max any negative is max", r: Resources{PidsMax: n(-7)}, o: Resources{PidsMax: n(50)}, want: Resources{PidsMax: n(50)}},
		{name: "pids.max zero is a limit", r: Resources{PidsMax: n(0)}, o: Resources{PidsMax: n(50)}, want: Resources{PidsMax: n(0)}},
		{name: "each field on its own",
			r:    Resources{MemoryMax: n(10), MemoryHigh: n(Max), SwapMax: n(5), PidsMax: nil},
			o:    Resources{MemoryMax: n(20), MemoryHigh: n(8), SwapMax: nil, PidsMax: n(3)},
			want: Resources{MemoryMax: n(10), MemoryHigh: n(8), SwapMax: n(5), PidsMax: n(3)}},

		// cpu.max: quota per period, the winner's pair taken together.
		{name: "cpu.max o lower", r: Resources{CPUQuota: n(200000), CPUPeriod: 100000}, o: Resources{CPUQuota: n(50000), CPUPeriod: 100000},
			want: Resources{CPUQuota: n(50000), CPUPeriod: 100000}},
		{name: "cpu.max r lower", r: Resources{CPUQuota: n(50000), CPUPeriod: 100000}, o: Resources{CPUQuota: n(200000), CPUPeriod: 100000},
			want: Resources{CPUQuota: n(50000), CPUPeriod: 100000}},
		{name: "cpu.max r unset takes o's period as is", r: Resources{CPUPeriod: 50000}, o: Resources{CPUQuota: n(Max)},
			want: Resources{CPUQuota: n(Max)}},
		{name: "cpu.max r max", r: Resources{CPUQuota: n(Max), CPUPeriod: 100000}, o: Resources{CPUQuota: n(1000), CPUPeriod: 100000},
			want: Resources{CPUQuota: n(1000), CPUPeriod: 100000}},
		{name: "cpu.max o max", r: Resources{CPUQuota: n(1000), CPUPeriod: 100000}, o: Resources{CPUQuota: n(Max), CPUPeriod: 100000},
			want: Resources{CPUQuota: n(1000), CPUPeriod: 100000}},
		{name: "cpu.max both max: r's", r: Resources{CPUQuota: n(Max), CPUPeriod: 100000}, o: Resources{CPUQuota: n(Max), CPUPeriod: 50000},
			want: Resources{CPUQuota: n(Max), CPUPeriod: 100000}},
		{name: "cpu.max o unset", r: Resources{CPUQuota: n(1000), CPUPeriod: 10000}, o: Resources{CPUPeriod: 100000},
			want: Resources{CPUQuota: n(1000), CPUPeriod: 10000}},
		{name: "cpu.max neither: r's period stays", r: Resources{CPUPeriod: 10000}, o: Resources{CPUPeriod: 20000}, want: Resources{CPUPeriod: 10000}},
		{name: "cpu.max periods differ, o a larger quota but a lower share", r: Resources{CPUQuota: n(50000), CPUPeriod: 50000}, o: Resources{CPUQuota: n(90000), CPUPeriod: 100000},
			want: Resources{CPUQuota: n(90000), CPUPeriod: 100000}},
		{name: "cpu.max periods differ, o a smaller quota but a higher share", r: Resources{CPUQuota: n(50000), CPUPeriod: 100000}, o: Resources{CPUQuota: n(30000), CPUPeriod: 50000},
			want: Resources{CPUQuota: n(50000), CPUPeriod: 100000}},
		{name: "cpu.max the same share in other words: r's", r: Resources{CPUQuota: n(50000), CPUPeriod: 100000}, o: Resources{CPUQuota: n(25000), CPUPeriod: 50000},
			want: Resources{CPUQuota: n(50000), CPUPeriod: 100000}},
		{name: "cpu.max period 0 is the default", r: Resources{CPUQuota: n(50000)}, o: Resources{CPUQuota: n(49999), CPUPeriod: DefaultCPUPeriod},
			want: Resources{CPUQuota: n(49999), CPUPeriod: DefaultCPUPeriod}},
		{name: "cpu.max period 0 is the default, tie", r: Resources{CPUQuota: n(50000), CPUPeriod: DefaultCPUPeriod}, o: Resources{CPUQuota: n(50000)},
			want: Resources{CPUQuota: n(50000), CPUPeriod: DefaultCPUPeriod}},
		{name: "cpu.max huge values do not overflow", r: Resources{CPUQuota: n(1 << 62), CPUPeriod: 1 << 40}, o: Resources{CPUQuota: n(1<<62 - 1), CPUPeriod: 1 << 40},
			want: Resources{CPUQuota: n(1<<62 - 1), CPUPeriod: 1 << 40}},

		// io.max: device by device, rate by rate, 0 = max.
		{name: "io.max a throttle on a capped device",
			r:    Resources{IOMax: []IOMax{{Major: 8, Minor: 0, RBPS: 5_000_000, WBPS: 1_000_000}}},
			o:    Resources{IOMax: []IOMax{{Major: 8, Minor: 0, WBPS: 2_000_000, WIOPS: 50}, {Major: 254, Minor: 0, WBPS: 7}}},
			want: Resources{IOMax: []IOMax{{Major: 8, Minor: 0, RBPS: 5_000_000, WBPS: 1_000_000, WIOPS: 50}, {Major: 254, Minor: 0, WBPS: 7}}}},
		{name: "io.max r's order, then o's new devices in o's order",
			r:    Resources{IOMax: []IOMax{{Major: 254, RIOPS: 9}, {Major: 8, RBPS: 10}}},
			o:    Resources{IOMax: []IOMax{{Major: 9}, {Major: 8, RBPS: 5, RIOPS: 3}, {Major: 7, WBPS: 1}}},
			want: Resources{IOMax: []IOMax{{Major: 254, RIOPS: 9}, {Major: 8, RBPS: 5, RIOPS: 3}, {Major: 9}, {Major: 7, WBPS: 1}}}},
		{name: "io.max only in r", r: Resources{IOMax: []IOMax{{Major: 8, RBPS: 1}}}, want: Resources{IOMax: []IOMax{{Major: 8, RBPS: 1}}}},
		{name: "io.max only in o", o: Resources{IOMax: []IOMax{{Major: 8, RBPS: 1}}}, want: Resources{IOMax: []IOMax{{Major: 8, RBPS: 1}}}},
		{name: "io.max o empty lifts nothing, r's empty stays non-nil", r: Resources{IOMax: []IOMax{}}, o: Resources{IOMax: []IOMax{}}, want: Resources{IOMax: []IOMax{}}},
		{name: "io.max r all max", r: Resources{IOMax: []IOMax{{Major: 8}}}, o: Resources{IOMax: []IOMax{{Major: 8, WIOPS: 4}}}, want: Resources{IOMax: []IOMax{{Major: 8, WIOPS: 4}}}},

		// Not ceilings: o's wins whenever o sets it.
		{name: "overlays from o",
			r:    Resources{CPUWeight: u(100), IOWeight: u(100), CpusetCPUs: ptr("0-3"), CpusetMems: ptr("0"), MemoryLow: n(1 << 30)},
			o:    Resources{CPUWeight: u(1), IOWeight: u(500), CpusetCPUs: ptr("0-7"), CpusetMems: ptr("1"), MemoryLow: n(0)},
			want: Resources{CPUWeight: u(1), IOWeight: u(500), CpusetCPUs: ptr("0-7"), CpusetMems: ptr("1"), MemoryLow: n(0)}},
		{name: "overlays o higher still wins", r: Resources{CPUWeight: u(1), MemoryLow: n(0)}, o: Resources{CPUWeight: u(10000), MemoryLow: n(1 << 30)},
			want: Resources{CPUWeight: u(10000), MemoryLow: n(1 << 30)}},
		{name: "overlays kept when o does not set them",
			r:    Resources{CPUWeight: u(100), IOWeight: u(100), CpusetCPUs: ptr("0-3"), CpusetMems: ptr("0"), MemoryLow: n(1 << 30)},
			o:    Resources{MemoryMax: n(1)},
			want: Resources{CPUWeight: u(100), IOWeight: u(100), CpusetCPUs: ptr("0-3"), CpusetMems: ptr("0"), MemoryLow: n(1 << 30), MemoryMax: n(1)}},
	} {
		got := tc.r.Tighten(tc.o)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n%+v.Tighten(%+v)\n got %+v\nwant %+v", tc.name, tc.r, tc.o, got, tc.want)
		}
	}
}

func TestTightenSharesNothing(t *testing.T) {
	t.Parallel()
	mk := func() Resources {
		return Resources{CPUQuota: ptr(int64(50000)), CPUPeriod: 100000, CPUWeight: ptr(uint64(100)), CpusetCPUs: ptr("0-3"), CpusetMems: ptr("0"),
			MemoryMax: ptr(int64(100)), MemoryHigh: ptr(int64(100)), MemoryLow: ptr(int64(100)), SwapMax: ptr(int64(100)), PidsMax: ptr(int64(100)),
			IOMax: []IOMax{{Major: 8, RBPS: 100}}, IOWeight: ptr(uint64(100))}
	}
	for _, pick := range []func(r, o Resources) (Resources, Resources){
		func(r, o Resources) (Resources, Resources) { return r, Resources{} }, // everything from r
		func(r, o Resources) (Resources, Resources) { return Resources{}, o }, // everything from o
		func(r, o Resources) (Resources, Resources) { return r, o },           // ties: r's, overlays: o's
	} {
		r, o := pick(mk(), mk())
		got := r.Tighten(o)
		*got.CPUQuota, *got.CPUWeight, *got.CpusetCPUs, *got.CpusetMems = 1, 1, "9", "9"
		*got.MemoryMax, *got.MemoryHigh, *got.MemoryLow, *got.SwapMax, *got.PidsMax, *got.IOWeight = 1, 1, 1, 1, 1, 1
		got.IOMax[0].RBPS = 1
		got.IOMax = append(got.IOMax, IOMax{Major: 254})
		for _, x := range []Resources{r, o} {
			if !reflect.DeepEqual(x, Resources{}) && !reflect.DeepEqual(x, mk()) {
				t.Fatalf("changing Tighten's result changed its input: %+v", x)
			}
		}
	}
}
