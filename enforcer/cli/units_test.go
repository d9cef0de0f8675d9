package cli

import "testing"

func TestUnits(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{fmtCPUs(1.25, 2.5), "1.2/2.5"},
		{fmtCPUs(3.5, 0), "3.5/-"},
		{fmtCPUs(12.4, 16), "12/16"},
		{fmtBytesPair(512<<20, 4<<30), "512MiB/4GiB"},
		{fmtBytesPair(3584<<20, 0), "3.5GiB/-"},
		{fmtBytes(0), "0B"},
		{fmtBytes(1023), "1023B"},
		{fmtBytes(1536), "1.5KiB"},
		{fmtBytes(20 << 30), "20GiB"},
		{fmtByteRate(3_100_000), "3.1MB/s"},
		{fmtByteRate(0), "0B/s"},
		{fmtByteRate(950), "950B/s"},
		{fmtByteRate(45_000_000), "45MB/s"},
		{fmtBitRate(100_000_000), "100Mbit/s"},
		{fmtBitRate(1_500_000_000), "1.5Gbit/s"},
		{fmtCount(42, 4096), "42/4096"},
		{fmtCount(42, 0), "42/-"},
		{fmtPct(47.6), "48%"},
		{fmtPSI(61.2, 0, 1.4), "61/0/1"},
		{shortID(webID), "3f2a1b4c5d6e"},
		{shortID("build-runner-1"), "build-runner-1"},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: got %q, want %q", i, tc.got, tc.want)
		}
	}
}

func TestFlagsInterleaved(t *testing.T) {
	t.Parallel()
	var c, j bool
	var s string
	f := newFlags("x")
	f.boolVar(&c, "c", "containers", "")
	f.boolVar(&j, "", "json", "")
	f.stringVar(&s, "s", "sort", "KEY", "")
	pos, err := f.parse([]string{"a", "-c", "b", "--sort", "mem", "--json", "--", "-not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if !c || !j || s != "mem" {
		t.Errorf("flags: c=%v json=%v sort=%q", c, j, s)
	}
	if len(pos) != 3 || pos[0] != "a" || pos[1] != "b" || pos[2] != "-not-a-flag" {
		t.Errorf("positional = %q", pos)
	}
}
