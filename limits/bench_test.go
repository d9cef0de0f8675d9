package limits

import (
	"bytes"
	"strings"
	"testing"
)

func BenchmarkParseCPUStat(b *testing.B) {
	data := []byte(cpuStat61)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseCPUStat(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMemoryStat(b *testing.B) {
	data := []byte(memoryStat61)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseMemoryStat(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseIOStat(b *testing.B) {
	data := []byte(strings.Repeat(ioStat61, 4)) // 8 devices
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseIOStat(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiff(b *testing.B) {
	f := NewFS(b.TempDir())
	r := Resources{
		CpusetCPUs: ptr("0-3"), CPUWeight: ptr(uint64(200)), CPUQuota: ptr(int64(250000)),
		IOWeight:  ptr(uint64(100)),
		IOMax:     []IOMax{{Major: 8, Minor: 0, RBPS: 200e6, WBPS: 50e6}, {Major: 254, Minor: 0, WIOPS: 1000}},
		MemoryLow: ptr(int64(1 << 30)), MemoryHigh: ptr(int64(3 << 30)), MemoryMax: ptr(int64(4<<30 + 1)),
		SwapMax: ptr(int64(0)), PidsMax: ptr(int64(4096)),
	}
	desired := r.Writes()
	current := []Write{
		{"cpuset.cpus", "0,1,2,3"}, {"cpu.weight", "200"}, {"cpu.max", "max 100000"},
		{"io.weight", "default 100"}, {"io.max", "8:0 rbps=200000000 wbps=50000000 riops=max wiops=max"},
		{"memory.low", "1073741824"}, {"memory.high", "max"}, {"memory.max", "4294967296"},
		{"memory.swap.max", "0"}, {"pids.max", "4096"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if ch := f.Diff(current, desired); len(ch) != 3 {
			b.Fatalf("%d changes: %q", len(ch), ch)
		}
	}
}
