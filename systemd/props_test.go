package systemd

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/quell-dev/quell/limits"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func str(v string) *string { return &v }

func fakeDevices(major, minor uint32) (string, error) {
	if major == 254 && minor == 0 {
		return "/dev/vda", nil
	}
	return "", fmt.Errorf("no device %d:%d", major, minor)
}

type prop struct {
	name, sig string
	value     any
}

func TestProperties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    limits.Resources
		want []prop
	}{
		{"empty changes nothing", limits.Resources{}, nil},
		{"half a CPU", limits.Resources{CPUQuota: i64(50000)}, []prop{
			{"CPUQuotaPerSecUSec", "t", uint64(500000)},
			{"CPUQuotaPeriodUSec", "t", uint64(100000)},
		}},
		{"2.5 CPUs with a 50 ms period", limits.Resources{CPUQuota: i64(125000), CPUPeriod: 50000}, []prop{
			{"CPUQuotaPerSecUSec", "t", uint64(2500000)},
			{"CPUQuotaPeriodUSec", "t", uint64(50000)},
		}},
		{"quota rounds up to 10 ms per second", limits.Resources{CPUQuota: i64(33333)}, []prop{
			{"CPUQuotaPerSecUSec", "t", uint64(340000)},
			{"CPUQuotaPeriodUSec", "t", uint64(100000)},
		}},
		{"unlimited CPU", limits.Resources{CPUQuota: i64(limits.Max)}, []prop{
			{"CPUQuotaPerSecUSec", "t", Infinity},
			{"CPUQuotaPeriodUSec", "t", uint64(100000)},
		}},
		{"weights", limits.Resources{CPUWeight: u64(200), IOWeight: u64(50)}, []prop{
			{"CPUWeight", "t", uint64(200)},
			{"IOWeight", "t", uint64(50)},
		}},
		{"cpusets", limits.Resources{CpusetCPUs: str("0-3,9"), CpusetMems: str("0")}, []prop{
			{"AllowedCPUs", "ay", []byte{0x0f, 0x02}},
			{"AllowedMemoryNodes", "ay", []byte{0x01}},
		}},
		{"memory, swap and pids", limits.Resources{
			MemoryMax: i64(64 << 20), MemoryHigh: i64(48 << 20), MemoryLow: i64(0),
			SwapMax: i64(limits.Max), PidsMax: i64(50),
		}, []prop{
			{"MemoryMax", "t", uint64(67108864)},
			{"MemoryHigh", "t", uint64(50331648)},
			{"MemoryLow", "t", uint64(0)},
			{"MemorySwapMax", "t", Infinity},
			{"TasksMax", "t", uint64(50)},
		}},
		{"io limits by device path, zero is unlimited", limits.Resources{IOMax: []limits.IOMax{
			{Major: 254, Minor: 0, RBPS: 200000000, WBPS: 5242880, RIOPS: 4000},
		}}, []prop{
			{"IOReadBandwidthMax", "a(st)", []IOLimit{{"/dev/vda", 200000000}}},
			{"IOWriteBandwidthMax", "a(st)", []IOLimit{{"/dev/vda", 5242880}}},
			{"IOReadIOPSMax", "a(st)", []IOLimit{{"/dev/vda", 4000}}},
			{"IOWriteIOPSMax", "a(st)", []IOLimit{{"/dev/vda", Infinity}}},
		}},
		{"empty io list lifts every io limit", limits.Resources{IOMax: []limits.IOMax{}}, []prop{
			{"IOReadBandwidthMax", "a(st)", []IOLimit{}},
			{"IOWriteBandwidthMax", "a(st)", []IOLimit{}},
			{"IOReadIOPSMax", "a(st)", []IOLimit{}},
			{"IOWriteIOPSMax", "a(st)", []IOLimit{}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			props, err := Properties(tt.r, fakeDevices)
			if err != nil {
				t.Fatal(err)
			}
			var got []prop
			for _, p := range props {
				got = append(got, prop{p.Name, p.Value.Signature().String(), p.Value.Value()})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestPropertiesRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       limits.Resources
		notRepr bool
	}{
		{"memory.max 0", limits.Resources{MemoryMax: i64(0)}, true},
		{"memory.high 0", limits.Resources{MemoryHigh: i64(0)}, true},
		{"pids.max 0", limits.Resources{PidsMax: i64(0)}, true},
		{"negative memory", limits.Resources{MemoryLow: i64(-5)}, true},
		{"zero quota", limits.Resources{CPUQuota: i64(0)}, true},
		{"weight 0", limits.Resources{CPUWeight: u64(0)}, true},
		{"io weight 10001", limits.Resources{IOWeight: u64(10001)}, true},
		{"bad cpuset", limits.Resources{CpusetCPUs: str("3-1")}, false},
		{"unknown device", limits.Resources{IOMax: []limits.IOMax{{Major: 8, Minor: 0, RBPS: 1}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			props, err := Properties(tt.r, fakeDevices)
			if err == nil {
				t.Fatalf("got %v, want an error", props)
			}
			if got := errors.Is(err, ErrNotRepresentable); got != tt.notRepr {
				t.Errorf("errors.Is(%v, ErrNotRepresentable) = %v, want %v", err, got, tt.notRepr)
			}
		})
	}
}

func TestEffectiveCPUQuota(t *testing.T) {
	t.Parallel()
	tests := []struct {
		quota  int64
		period uint64
		want   int64
	}{
		{50000, 0, 50000},
		{50000, 100000, 50000},
		{33333, 100000, 34000},
		{250000, 100000, 250000},
		{500, 100000, 1000},
		{limits.Max, 100000, limits.Max},
	}
	for _, tt := range tests {
		if got := EffectiveCPUQuota(tt.quota, tt.period); got != tt.want {
			t.Errorf("EffectiveCPUQuota(%d, %d) = %d, want %d", tt.quota, tt.period, got, tt.want)
		}
	}
}

func TestCPUSetMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []byte
		bad  bool
	}{
		{"", []byte{}, false},
		{"0", []byte{0x01}, false},
		{"0-7", []byte{0xff}, false},
		{"1,3", []byte{0x0a}, false},
		{" 8-9 ", []byte{0x00, 0x03}, false},
		{"0-2,16", []byte{0x07, 0x00, 0x01}, false},
		{"a", nil, true},
		{"1-", nil, true},
		{"-1", nil, true},
		{"4-2", nil, true},
		{"0,,1", nil, true},
		{"0-99999999", nil, true},
	}
	for _, tt := range tests {
		got, err := CPUSetMask(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("CPUSetMask(%q) error = %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CPUSetMask(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
