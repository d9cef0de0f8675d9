package limits

import (
	"fmt"
	"strings"

	"github.com/quell-dev/quell/internal/cpuset"
)

// ParseWrites is the inverse of Resources.Writes: it turns (file, value)
// pairs of the files Writes produces back into Resources, so that values
// read from the kernel (Current) or kept as originals are data again.
//
// Each value is read the way Writes spells it (and the kernel prints it),
// surrounding whitespace ignored:
//   - cpu.max "QUOTA PERIOD": QUOTA a number or "max" (→ Max), PERIOD a
//     positive number, kept as CPUPeriod (so a Resources with CPUPeriod 0
//     comes back with DefaultCPUPeriod: the writes are the same);
//   - cpu.weight "N"; io.weight "default N" (or the bare "N" the kernel
//     also accepts);
//   - cpuset.cpus, cpuset.mems: a CPU or node list ("0-3,8"; "" = empty),
//     kept as written;
//   - memory.max, memory.high, memory.low, memory.swap.max, pids.max: a
//     number or "max" (→ Max);
//   - io.max: one device line per Write ("MAJ:MIN rbps=N wbps=N riops=N
//     wiops=N", keys in any order, an absent key or "max" → 0), appended to
//     IOMax in the order given.
//
// So ParseWrites(r.Writes()) equals r for every r whose CPUPeriod is set
// when CPUQuota is, whose negative values are Max and whose IOMax is sorted
// by device, and r.Writes() always equals ParseWrites(r.Writes()).Writes().
//
// A value that does not parse is an error wrapping ErrSyntax that names
// the file and the value; a file Writes never produces, a file given twice
// and an io.max device given twice are errors too. On error the returned
// Resources is empty: nothing is half-parsed.
func ParseWrites(ws []Write) (Resources, error) {
	var r Resources
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w.File] && w.File != "io.max" {
			return Resources{}, fmt.Errorf("%s %q: file given twice", w.File, w.Value)
		}
		seen[w.File] = true
		if err := parseWrite(&r, w.File, strings.TrimSpace(w.Value)); err != nil {
			return Resources{}, err
		}
	}
	return r, nil
}

// parseWrite sets the field of r that file v (trimmed) stands for.
func parseWrite(r *Resources, file, v string) error {
	bad := func() error { return errSyntax(file, v) }
	switch file {
	case "cpu.max":
		f := strings.Fields(v)
		if len(f) != 2 {
			return bad()
		}
		q, err := parseMaxBytes(file, []byte(f[0]))
		p, ok := atou([]byte(f[1]))
		if err != nil || !ok || p == 0 {
			return bad()
		}
		r.CPUQuota, r.CPUPeriod = &q, p
	case "cpu.weight":
		n, ok := atou([]byte(v))
		if !ok {
			return bad()
		}
		r.CPUWeight = &n
	case "io.weight":
		n, ok := atou([]byte(strings.TrimSpace(strings.TrimPrefix(v, "default "))))
		if !ok {
			return bad()
		}
		r.IOWeight = &n
	case "cpuset.cpus", "cpuset.mems":
		if _, err := cpuset.Parse(v); err != nil {
			return bad()
		}
		if file == "cpuset.cpus" {
			r.CpusetCPUs = &v
		} else {
			r.CpusetMems = &v
		}
	case "memory.max", "memory.high", "memory.low", "memory.swap.max", "pids.max":
		n, err := parseMaxBytes(file, []byte(v))
		if err != nil {
			return bad()
		}
		switch file {
		case "memory.max":
			r.MemoryMax = &n
		case "memory.high":
			r.MemoryHigh = &n
		case "memory.low":
			r.MemoryLow = &n
		case "memory.swap.max":
			r.SwapMax = &n
		default:
			r.PidsMax = &n
		}
	case "io.max":
		_, d, err := parseIOMaxLine(v)
		if err != nil {
			return bad()
		}
		for _, o := range r.IOMax {
			if o.Major == d.Major && o.Minor == d.Minor {
				return fmt.Errorf("%s %q: device %d:%d given twice", file, v, d.Major, d.Minor)
			}
		}
		r.IOMax = append(r.IOMax, d)
	default:
		return fmt.Errorf("%s %q: not a file Resources writes", file, v)
	}
	return nil
}
