// Package cpuset owns the one parser of the kernel's CPU and memory-node
// list format ("0-3,8,10-11", as in cpuset.cpus and cpuset.mems) that
// policies, limits and systemd share. It imports only the standard library
// (limits and policies import nothing else of ours) and does no I/O.
package cpuset

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MaxID is the largest CPU or node id a list may name. It bounds a list
// as the kernel's NR_CPUS does, so a typo such as "0-4000000000" is an
// error rather than a set of four billion ids.
const MaxID = 1<<16 - 1

// Range is the ids Lo through Hi, both included.
type Range struct{ Lo, Hi int }

// Set is a list of ids as sorted, merged ranges: two spellings of the same
// ids ("0,1,2,3" and "0-3") parse to equal Sets. The zero Set is empty.
type Set []Range

// Parse parses a list such as "0-3,8,10-11". Blanks around the list and
// around each element are allowed (the kernel ends its files with a
// newline); "" or only blanks is the empty Set. An empty element ("0,,1"),
// anything but digits and one '-' per element, a range that runs
// backwards, and an id above MaxID are errors that name the whole list.
func Parse(list string) (Set, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return nil, nil
	}
	var s Set
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := id(lo, list)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = id(hi, list); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("cpuset %q: range %q runs backwards", list, part)
			}
		}
		s = append(s, Range{a, b})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Lo < s[j].Lo })
	merged := s[:1]
	for _, r := range s[1:] {
		last := &merged[len(merged)-1]
		if r.Lo <= last.Hi+1 {
			last.Hi = max(last.Hi, r.Hi)
			continue
		}
		merged = append(merged, r)
	}
	return merged, nil
}

func id(s, list string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad cpuset %q (use a list such as \"0-3,8\")", list)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > MaxID {
		return 0, fmt.Errorf("cpuset %q: id %s is too large", list, s)
	}
	return n, nil
}

// Equal reports whether s and o hold the same ids.
func (s Set) Equal(o Set) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// SubsetOf reports whether every id of s is in o (true for an empty s).
func (s Set) SubsetOf(o Set) bool {
	for _, r := range s {
		in := false
		for _, x := range o {
			if r.Lo >= x.Lo && r.Hi <= x.Hi {
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

// Mask is s as a bitmask, bit i%8 of byte i/8 set for id i (the `ay`
// systemd's AllowedCPUs and AllowedMemoryNodes take). An empty Set gives
// an empty, non-nil mask.
func (s Set) Mask() []byte {
	mask := []byte{}
	if len(s) > 0 {
		mask = make([]byte, s[len(s)-1].Hi/8+1)
	}
	for _, r := range s {
		for i := r.Lo; i <= r.Hi; i++ {
			mask[i/8] |= 1 << (i % 8)
		}
	}
	return mask
}
