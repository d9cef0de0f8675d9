package limits

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

const cpuStat61 = `usage_usec 4924360
user_usec 3021475
system_usec 1902885
core_sched.force_idle_usec 0
nr_periods 98
nr_throttled 97
throttled_usec 4812345
nr_bursts 0
burst_usec 0
`

func TestParseCPUStat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want CPUStat
		fail bool
	}{
		{cpuStat61, CPUStat{4924360, 3021475, 1902885, true, 98, 97, 4812345}, false},
		{"usage_usec 1\nuser_usec 2\nsystem_usec 3\n", CPUStat{UsageUsec: 1, UserUsec: 2, SystemUsec: 3}, false},
		{"usage_usec 1\nuser_usec 2\nsystem_usec 3", CPUStat{UsageUsec: 1, UserUsec: 2, SystemUsec: 3}, false},
		{"", CPUStat{}, true},
		{"usage_usec 1\nuser_usec 2\n", CPUStat{}, true},
		{"usage_usec 1\nuser_usec 2\nsystem_usec 3\nnr_periods 4\n", CPUStat{}, true},
		{"usage_usec -1\nuser_usec 2\nsystem_usec 3\n", CPUStat{}, true},
		{"usage_usec 18446744073709551616\nuser_usec 2\nsystem_usec 3\n", CPUStat{}, true},
		{"usage_usec\nuser_usec 2\nsystem_usec 3\n", CPUStat{}, true},
		{"usage_usec 1 2\nuser_usec 2\nsystem_usec 3\n", CPUStat{}, true},
		{"\x00\xff garbage", CPUStat{}, true},
	} {
		got, err := parseCPUStat(strings.NewReader(tc.in))
		if (err != nil) != tc.fail || got != tc.want {
			t.Errorf("parseCPUStat(%q) = %+v, %v", tc.in, got, err)
		}
		if tc.fail && !errors.Is(err, ErrSyntax) {
			t.Errorf("parseCPUStat(%q): %v, want ErrSyntax", tc.in, err)
		}
	}
	if _, err := parseCPUStat(failReader{}); err == nil {
		t.Error("read error became a value")
	}
}

const memoryStat61 = `anon 1048576
file 2097152
kernel 430080
kernel_stack 16384
pagetables 45056
sec_pagetables 0
percpu 0
sock 4096
vmalloc 0
shmem 8192
zswap 0
zswapped 0
file_mapped 65536
file_dirty 4096
file_writeback 0
swapcached 0
anon_thp 0
file_thp 0
shmem_thp 0
inactive_anon 1040384
active_anon 8192
inactive_file 1048576
active_file 1048576
unevictable 0
slab_reclaimable 100000
slab_unreclaimable 200000
slab 300000
workingset_refault_anon 0
workingset_refault_file 0
pgscan 0
pgsteal 0
pgfault 12345
pgmajfault 6
thp_fault_alloc 0
`

func TestParseMemoryStat(t *testing.T) {
	t.Parallel()
	got, err := parseMemoryStat(strings.NewReader(memoryStat61))
	want := MemoryStat{
		Anon: 1048576, File: 2097152, KernelStack: 16384, Sock: 4096, Shmem: 8192,
		FileMapped: 65536, FileDirty: 4096, InactiveAnon: 1040384, ActiveAnon: 8192,
		InactiveFile: 1048576, ActiveFile: 1048576, SlabReclaimable: 100000,
		SlabUnreclaimable: 200000, PgFault: 12345, PgMajFault: 6,
		AnonTHP: ptr(uint64(0)), Kernel: ptr(uint64(430080)),
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseMemoryStat = %+v, %v", got, err)
	}
	// Without the optional keys: pointers stay nil.
	trimmed := strings.Replace(strings.Replace(memoryStat61, "anon_thp 0\n", "", 1), "kernel 430080\n", "", 1)
	got, err = parseMemoryStat(strings.NewReader(trimmed))
	if err != nil || got.AnonTHP != nil || got.Kernel != nil || got.Anon != 1048576 {
		t.Errorf("parseMemoryStat(no optional) = %+v, %v", got, err)
	}
	for _, bad := range []string{
		"",
		strings.Replace(memoryStat61, "pgmajfault 6\n", "", 1),
		strings.Replace(memoryStat61, "anon 1048576", "anon 1M", 1),
		strings.Replace(memoryStat61, "kernel 430080", "kernel x", 1),
		"anon\n",
	} {
		if _, err := parseMemoryStat(strings.NewReader(bad)); !errors.Is(err, ErrSyntax) {
			t.Errorf("parseMemoryStat(%.40q…): %v, want ErrSyntax", bad, err)
		}
	}
}

func TestParseMemoryEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want MemoryEvents
		fail bool
	}{
		{"low 0\nhigh 12\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n", MemoryEvents{0, 12, 3, 1, 1, ptr(uint64(0))}, false},
		{"low 0\nhigh 12\nmax 3\noom 1\noom_kill 2\n", MemoryEvents{0, 12, 3, 1, 2, nil}, false},
		{"low 0\nhigh 12\nmax 3\noom 1\n", MemoryEvents{}, true},
		{"low 0\nhigh 12\nmax 3\noom 1\noom_kill x\n", MemoryEvents{}, true},
		{"garbage", MemoryEvents{}, true},
	} {
		got, err := parseMemoryEvents(strings.NewReader(tc.in))
		if (err != nil) != tc.fail || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseMemoryEvents(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

const ioStat61 = `254:16 rbytes=10485760 wbytes=20971520 rios=2560 wios=5120 dbytes=0 dios=0
254:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=0
`

func TestParseIOStat(t *testing.T) {
	t.Parallel()
	got, err := parseIOStat(strings.NewReader(ioStat61))
	want := IOStat{Devices: []IODevice{
		{254, 16, 10485760, 20971520, 2560, 5120},
		{254, 0, 4096, 0, 1, 0},
	}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseIOStat = %+v, %v", got, err)
	}
	if d, ok := got.Device(254, 16); !ok || d.WBytes != 20971520 {
		t.Errorf("Device(254,16) = %+v, %v", d, ok)
	}
	if _, ok := got.Device(8, 0); ok {
		t.Error("Device(8,0) found")
	}
	// A device without I/O is printed bare (or with iocost keys only), and
	// some kernels glue it to the next line.
	got, err = parseIOStat(strings.NewReader("254:16 \n254:0 cost.vrate=100.00\n8:0 8:16 rbytes=1 wbytes=2 rios=3 wios=4\n"))
	want = IOStat{Devices: []IODevice{{Major: 254, Minor: 16}, {Major: 254}, {Major: 8}, {8, 16, 1, 2, 3, 4}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseIOStat(bare devices) = %+v, %v", got, err)
	}
	if got, err := parseIOStat(strings.NewReader("")); err != nil || got.Devices == nil || len(got.Devices) != 0 {
		t.Errorf("empty io.stat = %#v, %v", got, err)
	}
	for _, bad := range []string{
		"254:16 rbytes=1 wbytes=2 rios=3\n",
		"254:16 rbytes=1 wbytes=2 rios=3 wios=x\n",
		"254 rbytes=1 wbytes=2 rios=3 wios=4\n",
		"a:b rbytes=1 wbytes=2 rios=3 wios=4\n",
		"254:16 rbytes=1 wbytes=2 rios=3 wios\n",
		"rbytes=1 wbytes=2 rios=3 wios=4\n",
		"254:16 rbytes=1 8:0 rbytes=1 wbytes=2 rios=3 wios=4\n",
		"99999999999:1 rbytes=1 wbytes=2 rios=3 wios=4\n",
	} {
		if _, err := parseIOStat(strings.NewReader(bad)); !errors.Is(err, ErrSyntax) {
			t.Errorf("parseIOStat(%q): %v, want ErrSyntax", bad, err)
		}
	}
}

func TestParseSmallFiles(t *testing.T) {
	t.Parallel()
	if n, err := parseUintFile("memory.current", strings.NewReader("123\n")); err != nil || n != 123 {
		t.Errorf("parseUintFile = %d, %v", n, err)
	}
	for _, bad := range []string{"", "max", "-1", "1 2", "0x10"} {
		if _, err := parseUintFile("memory.current", strings.NewReader(bad)); !errors.Is(err, ErrSyntax) {
			t.Errorf("parseUintFile(%q): %v", bad, err)
		}
	}
	if n, err := parseMaxFile("pids.max", strings.NewReader("max\n")); err != nil || n != Max {
		t.Errorf("parseMaxFile(max) = %d, %v", n, err)
	}
	if n, err := parseMaxFile("pids.max", strings.NewReader("64\n")); err != nil || n != 64 {
		t.Errorf("parseMaxFile(64) = %d, %v", n, err)
	}
	for _, bad := range []string{"", "maxx", "18446744073709551615"} {
		if _, err := parseMaxFile("pids.max", strings.NewReader(bad)); !errors.Is(err, ErrSyntax) {
			t.Errorf("parseMaxFile(%q): %v", bad, err)
		}
	}
	if e, err := parsePidsEvents(strings.NewReader("max 7\nmax.imposed 2\n")); err != nil || e.Max != 7 {
		t.Errorf("parsePidsEvents = %+v, %v", e, err)
	}
	for _, bad := range []string{"", "max x\n", "max.imposed 1\n"} {
		if _, err := parsePidsEvents(strings.NewReader(bad)); !errors.Is(err, ErrSyntax) {
			t.Errorf("parsePidsEvents(%q): %v", bad, err)
		}
	}
	if e, err := parseCgroupEvents(strings.NewReader("populated 1\nfrozen 0\n")); err != nil || !e.Populated || e.Frozen {
		t.Errorf("parseCgroupEvents = %+v, %v", e, err)
	}
	for _, bad := range []string{"", "populated 1\n", "populated 2\nfrozen 0\n", "populated\nfrozen 0\n"} {
		if _, err := parseCgroupEvents(strings.NewReader(bad)); !errors.Is(err, ErrSyntax) {
			t.Errorf("parseCgroupEvents(%q): %v", bad, err)
		}
	}
	for _, r := range []func() error{
		func() error { _, err := parseMemoryStat(failReader{}); return err },
		func() error { _, err := parseIOStat(failReader{}); return err },
		func() error { _, err := parseUintFile("x", failReader{}); return err },
		func() error { _, err := parseProcs(failReader{}); return err },
	} {
		if err := r(); err == nil {
			t.Error("read error became a value")
		}
	}
}
