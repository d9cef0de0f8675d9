package policies

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// cpuRange is an inclusive range of CPU or memory-node ids.
type cpuRange struct{ lo, hi int }

const maxCPUID = 1 << 16

// parseCpuset parses the cpuset.cpus / cpuset.mems list syntax, "0-3,8,10-11",
// into sorted, merged ranges. Spaces, empty elements, reversed ranges and ids
// above 65535 are errors.
func parseCpuset(s string) ([]cpuRange, error) {
	if s == "" {
		return nil, fmt.Errorf("empty cpuset (leave the key out for no restriction)")
	}
	var rs []cpuRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := cpuID(lo, s)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = cpuID(hi, s); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("cpuset %q: range %q runs backwards", s, part)
			}
		}
		rs = append(rs, cpuRange{a, b})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	merged := rs[:1]
	for _, r := range rs[1:] {
		last := &merged[len(merged)-1]
		if r.lo <= last.hi+1 {
			last.hi = max(last.hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged, nil
}

func cpuID(s, whole string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad cpuset %q (use a list such as \"0-3,8\")", whole)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n >= maxCPUID {
		return 0, fmt.Errorf("cpuset %q: id %s is too large", whole, s)
	}
	return n, nil
}

// cpusetSubset reports whether every id of a is in b (both merged).
func cpusetSubset(a, b []cpuRange) bool {
	for _, r := range a {
		in := false
		for _, o := range b {
			if r.lo >= o.lo && r.hi <= o.hi {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}
