package limits

import (
	"strconv"
	"strings"

	"github.com/quell-dev/quell/internal/cpuset"
)

// equivalent reports whether the value the kernel shows (got) satisfies
// the value quell wants (want) in file, and whether it does so only
// because of the kernel's rounding (memory values are rounded down to a
// multiple of the page size). Spellings the kernel normalises compare
// equal without being "rounded": cpuset lists ("0,1,2,3" = "0-3"), io.max
// key order and missing keys (= max), whitespace.
func equivalent(file, got, want string, pageSize int64) (equal, rounded bool) {
	got, want = strings.TrimSpace(got), strings.TrimSpace(want)
	if got == want {
		return true, false
	}
	switch file {
	case "memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max":
		g, gerr := strconv.ParseInt(got, 10, 64)
		w, werr := strconv.ParseInt(want, 10, 64)
		if gerr != nil || werr != nil || pageSize <= 0 {
			return false, false
		}
		if g == w-w%pageSize {
			return true, true
		}
	case "cpu.max":
		gq, gp := cut2(got)
		wq, wp := cut2(want)
		return gq == wq && (wp == "" || gp == wp), false
	case "cpuset.cpus", "cpuset.mems":
		g, gerr := cpuset.Parse(got)
		w, werr := cpuset.Parse(want)
		return gerr == nil && werr == nil && g.Equal(w), false
	case "io.max":
		gd, g, gerr := parseIOMaxLine(got)
		wd, w, werr := parseIOMaxLine(want)
		return gerr == nil && werr == nil && gd == wd && g == w, false
	}
	return strings.Join(strings.Fields(got), " ") == strings.Join(strings.Fields(want), " "), false
}

func cut2(s string) (a, b string) {
	f := strings.Fields(s)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return f[0], ""
	}
	return f[0], f[1]
}

// parseIOMaxLine parses one io.max line, "MAJ:MIN key=value..." (the keys
// rbps, wbps, riops and wiops in any order, an absent key or "max" meaning
// unlimited, i.e. 0), into the device as written and its limits. Anything
// else, an unknown key included (the kernel has no other), is ErrSyntax.
func parseIOMaxLine(s string) (dev string, d IOMax, err error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "", d, errSyntax("io.max", s)
	}
	if d.Major, d.Minor, err = parseDev(f[0]); err != nil {
		return "", IOMax{}, err
	}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", IOMax{}, errSyntax("io.max", s)
		}
		var n uint64
		if v != "max" {
			if n, err = strconv.ParseUint(v, 10, 64); err != nil {
				return "", IOMax{}, errSyntax("io.max", s)
			}
		}
		switch k {
		case "rbps":
			d.RBPS = n
		case "wbps":
			d.WBPS = n
		case "riops":
			d.RIOPS = n
		case "wiops":
			d.WIOPS = n
		default:
			return "", IOMax{}, errSyntax("io.max", s)
		}
	}
	return f[0], d, nil
}

// parseDev parses "MAJ:MIN".
func parseDev(s string) (major, minor uint32, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, errSyntax("device", s)
	}
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, errSyntax("device", s)
	}
	return uint32(ma), uint32(mi), nil
}
