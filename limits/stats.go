package limits

import (
	"errors"
	"fmt"
)

// Stats is the usage of one cgroup. Every field is nil when its file does
// not exist (controller not enabled, kernel too old, the root cgroup) or
// could not be read or parsed; nil never means zero.
type Stats struct {
	CPU           *CPUStat      // cpu.stat
	MemoryCurrent *uint64       // memory.current, bytes
	MemoryPeak    *uint64       // memory.peak, bytes (kernel >= 5.19)
	SwapCurrent   *uint64       // memory.swap.current, bytes
	MemoryEvents  *MemoryEvents // memory.events
	Memory        *MemoryStat   // memory.stat
	IO            *IOStat       // io.stat
	PidsCurrent   *uint64       // pids.current
	PidsMax       *int64        // pids.max; Max (-1) = unlimited
	PidsEvents    *PidsEvents   // pids.events
	Events        *CgroupEvents // cgroup.events
}

// Stats reads the usage files of cg (the root cgroup allowed). It reads
// each file itself rather than through containerd/cgroups' Stat, which
// turns a failed read into 0 and "max" into MaxUint64 (see the package
// doc). Missing files leave their field nil and are not errors. If the
// cgroup is gone, Stats returns ErrGone and nothing else. Any other
// failure (I/O error, ErrSyntax) leaves that field nil and is returned,
// joined with the others, next to the fields that were read.
func (f *FS) Stats(cg string) (Stats, error) {
	return f.StatsOf(cg, nil)
}

// StatsOf is Stats reading only the files named in only (nil = all): the
// loop reads the few it needs each interval, since every file is an open,
// a read and a close per cgroup per interval.
func (f *FS) StatsOf(cg string, only map[string]bool) (Stats, error) {
	d, err := f.dir(cg)
	if err != nil {
		return Stats{}, err
	}
	return statsOf(d, only, func(file string) ([]byte, error) { return readFile(d, file) })
}

// statsOf is StatsOf of directory d, reading each file with readf (whose
// bytes need only last until the next call).
func statsOf(d string, only map[string]bool, readf func(file string) ([]byte, error)) (Stats, error) {
	var s Stats
	var errs []error
	// read returns the content of a file, or nil when the file is missing
	// or failed (then recorded). gone aborts.
	gone := false
	read := func(file string) []byte {
		if gone || (only != nil && !only[file]) {
			return nil
		}
		b, err := readf(file)
		switch {
		case err == nil:
			return b
		case errors.Is(err, ErrGone):
			gone = true
			errs = []error{err}
		case !errors.Is(err, ErrMissing):
			errs = append(errs, err)
		}
		return nil
	}
	bad := func(file string, err error) {
		errs = append(errs, fmt.Errorf("%s/%s: %w", d, file, err))
	}
	if b := read("cpu.stat"); b != nil {
		if v, err := parseCPUStatBytes(b); err != nil {
			bad("cpu.stat", err)
		} else {
			s.CPU = &v
		}
	}
	for _, u := range []struct {
		file string
		dst  **uint64
	}{
		{"memory.current", &s.MemoryCurrent},
		{"memory.peak", &s.MemoryPeak},
		{"memory.swap.current", &s.SwapCurrent},
		{"pids.current", &s.PidsCurrent},
	} {
		if b := read(u.file); b != nil {
			if v, err := parseUintBytes(u.file, b); err != nil {
				bad(u.file, err)
			} else {
				*u.dst = &v
			}
		}
	}
	if b := read("memory.events"); b != nil {
		if v, err := parseMemoryEvents(bytesReader(b)); err != nil {
			bad("memory.events", err)
		} else {
			s.MemoryEvents = &v
		}
	}
	if b := read("memory.stat"); b != nil {
		if v, err := parseMemoryStatBytes(b); err != nil {
			bad("memory.stat", err)
		} else {
			s.Memory = &v
		}
	}
	if b := read("io.stat"); b != nil {
		if v, err := parseIOStatBytes(b); err != nil {
			bad("io.stat", err)
		} else {
			s.IO = &v
		}
	}
	if b := read("pids.max"); b != nil {
		if v, err := parseMaxBytes("pids.max", b); err != nil {
			bad("pids.max", err)
		} else {
			s.PidsMax = &v
		}
	}
	if b := read("pids.events"); b != nil {
		if v, err := parsePidsEvents(bytesReader(b)); err != nil {
			bad("pids.events", err)
		} else {
			s.PidsEvents = &v
		}
	}
	if b := read("cgroup.events"); b != nil {
		if v, err := parseCgroupEvents(bytesReader(b)); err != nil {
			bad("cgroup.events", err)
		} else {
			s.Events = &v
		}
	}
	if gone {
		return Stats{}, errs[0]
	}
	return s, errors.Join(errs...)
}
