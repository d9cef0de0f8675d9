package systemd

import (
	"fmt"
	"strconv"
	"strings"
)

// maxCPUSetIndex bounds cpuset lists, as the kernel's NR_CPUS does; it keeps
// a typo like "0-4000000000" from allocating gigabytes.
const maxCPUSetIndex = 1 << 16

// CPUSetMask turns a cpuset list ("0-3,8", the cpuset.cpus format) into the
// `ay` bitmask systemd's AllowedCPUs and AllowedMemoryNodes take: bit i%8 of
// byte i/8 is set for CPU (or node) i. "" gives an empty mask, which resets
// the unit to its parent's set. Malformed lists are an error.
func CPUSetMask(list string) ([]byte, error) {
	mask := []byte{}
	list = strings.TrimSpace(list)
	if list == "" {
		return mask, nil
	}
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		first, err := cpuIndex(lo)
		if err != nil {
			return nil, fmt.Errorf("cpuset %q: %w", list, err)
		}
		last := first
		if isRange {
			if last, err = cpuIndex(hi); err != nil {
				return nil, fmt.Errorf("cpuset %q: %w", list, err)
			}
			if last < first {
				return nil, fmt.Errorf("cpuset %q: range %d-%d is reversed", list, first, last)
			}
		}
		for i := first; i <= last; i++ {
			for len(mask) <= i/8 {
				mask = append(mask, 0)
			}
			mask[i/8] |= 1 << (i % 8)
		}
	}
	return mask, nil
}

func cpuIndex(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= maxCPUSetIndex {
		return 0, fmt.Errorf("bad cpu index %q", s)
	}
	return n, nil
}
