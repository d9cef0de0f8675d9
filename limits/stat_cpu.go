package limits

import (
	"fmt"
	"io"
)

// CPUStat is cpu.stat. Usage fields are always present (the kernel prints
// them even without the cpu controller); the throttling fields only when
// the cpu controller is enabled for the cgroup, which Throttling reports.
type CPUStat struct {
	UsageUsec, UserUsec, SystemUsec uint64
	Throttling                      bool // NrPeriods, NrThrottled, ThrottledUsec are valid
	NrPeriods, NrThrottled          uint64
	ThrottledUsec                   uint64
}

// parseCPUStat parses cpu.stat. Unknown keys are ignored; a missing
// usage_usec/user_usec/system_usec, a partial throttling set or a
// non-numeric known value is ErrSyntax.
func parseCPUStat(r io.Reader) (CPUStat, error) {
	b, err := slurp(r)
	if err != nil {
		return CPUStat{}, err
	}
	return parseCPUStatBytes(b)
}

func parseCPUStatBytes(b []byte) (CPUStat, error) {
	var s CPUStat
	var seen uint8
	err := eachKV("cpu.stat", b, func(k, v []byte) error {
		var dst *uint64
		var bit uint8
		switch string(k) {
		case "usage_usec":
			dst, bit = &s.UsageUsec, 1
		case "user_usec":
			dst, bit = &s.UserUsec, 2
		case "system_usec":
			dst, bit = &s.SystemUsec, 4
		case "nr_periods":
			dst, bit = &s.NrPeriods, 8
		case "nr_throttled":
			dst, bit = &s.NrThrottled, 16
		case "throttled_usec":
			dst, bit = &s.ThrottledUsec, 32
		default:
			return nil
		}
		n, ok := atou(v)
		if !ok {
			return errSyntax("cpu.stat", string(k)+" "+string(v))
		}
		*dst, seen = n, seen|bit
		return nil
	})
	if err != nil {
		return CPUStat{}, err
	}
	if seen&7 != 7 {
		return CPUStat{}, fmt.Errorf("cpu.stat: usage_usec, user_usec or system_usec missing: %w", ErrSyntax)
	}
	switch seen &^ 7 {
	case 0:
	case 8 | 16 | 32:
		s.Throttling = true
	default:
		return CPUStat{}, fmt.Errorf("cpu.stat: partial throttling keys: %w", ErrSyntax)
	}
	return s, nil
}
