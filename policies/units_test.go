package policies

import (
	"math"
	"reflect"
	"testing"

	"github.com/quell-dev/quell/internal/cpuset"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"512", 512, false},
		{"0", 0, false},
		{"4GiB", 4294967296, false},
		{"3584MiB", 3758096384, false},
		{"1.5GB", 1500000000, false},
		{"20GiB", 21474836480, false},
		{"1GiB", 1 << 30, false},
		{"1KiB", 1024, false},
		{"1KB", 1000, false},
		{"1kB", 1000, false},
		{"2TiB", 2 << 40, false},
		{"1TB", 1e12, false},
		{"100B", 100, false},
		{"1.5GiB", 1610612736, false},
		{"4 GiB", 4 << 30, false},
		{" 4GiB ", 4 << 30, false},
		{"1.1MiB", 1153433, false}, // a fraction of a byte is rounded down
		{"8388607TiB", 8388607 << 40, false},
		{"8388608TiB", 0, true}, // 2^63: too large for int64
		{"9223372036854775807", math.MaxInt64, false},
		{"9223372036854775808", 0, true},
		{"", 0, true},
		{"   ", 0, true},
		{"GiB", 0, true},
		{"-1", 0, true},
		{"-1GiB", 0, true},
		{"+1", 0, true},
		{"4G", 0, true}, // Docker's "4g" is ambiguous here: refused
		{"4g", 0, true},
		{"4gib", 0, true},
		{"4Mb", 0, true}, // megabits are not a size
		{"4Mbit", 0, true},
		{"1.5", 0, true}, // a fraction of a byte without a unit
		{"1.5B", 0, true},
		{"1.", 0, true},
		{".5GiB", 0, true},
		{"1e9", 0, true},
		{"0x10", 0, true},
		{"1,5GiB", 0, true},
		{"1GiBs", 0, true},
		{"4 GiB extra", 0, true},
		{"max", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
		{"1/2", 0, true},
		{"１GiB", 0, true}, // a full-width digit
		{"99999999999999999999999999999999999999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"100Mbit", 100000000, false},
		{"100mbit", 100000000, false}, // tc's spelling
		{"200Mbit", 200000000, false},
		{"1Gbit", 1e9, false},
		{"1gbit", 1e9, false},
		{"10Kbit", 10000, false},
		{"10kbit", 10000, false},
		{"1Tbit", 1e12, false},
		{"1Kibit", 1024, false},
		{"1Mibit", 1 << 20, false},
		{"1bit", 1, false},
		{"10MB", 80000000, false}, // bytes are 8 bits
		{"200MB", 1600000000, false},
		{"50MB", 400000000, false},
		{"1KiB", 8192, false},
		{"1MiB", 8 << 20, false},
		{"1B", 8, false},
		{"1.5Mbit", 1500000, false},
		{"100Mbit/s", 100000000, false},
		{"10MB/s", 80000000, false},
		{"0Mbit", 0, false},
		{"0.0001bit", 0, false}, // rounded down
		{"2305843009213693951B", 18446744073709551608, false},
		{"2305843009213693952B", 0, true}, // 2^61 bytes = 2^64 bits
		{"100", 0, true},                  // bits or bytes? refused
		{"0", 0, true},
		{"", 0, true},
		{"Mbit", 0, true},
		{"-100Mbit", 0, true},
		{"100Mbps", 0, true},
		{"100Mb", 0, true},
		{"100 M", 0, true},
		{"100MBit", 0, true},
		{"100Mbit/h", 0, true},
		{"100Mbit/s/s", 0, true},
		{"1e6bit", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// The list grammar is internal/cpuset's (tested there); a policy adds
// that an empty value and blanks are errors, and keeps the parsed set.
func TestParseCpuset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want cpuset.Set
		err  bool
	}{
		{"0-3,8,10-11", cpuset.Set{{Lo: 0, Hi: 3}, {Lo: 8, Hi: 8}, {Lo: 10, Hi: 11}}, false},
		{"8,0-3,4", cpuset.Set{{Lo: 0, Hi: 4}, {Lo: 8, Hi: 8}}, false},
		{"", nil, true},
		{" ", nil, true},
		{"0, 1", nil, true},
		{"0-3\n", nil, true},
		{"3-1", nil, true},
		{"0,,1", nil, true},
		{"70000", nil, true},
	}
	for _, tt := range tests {
		got, err := parseCpuset(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseCpuset(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
