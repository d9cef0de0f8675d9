package limits

import (
	"bytes"
	"fmt"
	"io"
)

// IODevice is one device line of io.stat.
type IODevice struct {
	Major, Minor               uint32
	RBytes, WBytes, RIOs, WIOs uint64
}

// IOStat is io.stat: one entry per device the cgroup has done I/O on, in
// the kernel's order. A cgroup that has done no I/O has no devices (the
// file is empty), which is not the same as a missing io.stat (Stats.IO nil).
type IOStat struct {
	Devices []IODevice
}

// Device returns the entry for major:minor, if any.
func (s IOStat) Device(major, minor uint32) (IODevice, bool) {
	for _, d := range s.Devices {
		if d.Major == major && d.Minor == minor {
			return d, true
		}
	}
	return IODevice{}, false
}

// parseIOStat parses io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N
// dbytes=N dios=N …"). The kernel prints a device it tracks but which has
// done no I/O as a bare "MAJ:MIN " (with iocost, followed by cost.* keys
// only): that is its spelling of all-zero counters, so such a device gets
// zeros. A line with some but not all of rbytes, wbytes, rios and wios is
// ErrSyntax; other keys are ignored. Some kernels have glued a bare device
// onto the next device's line; a MAJ:MIN token anywhere starts a new entry.
func parseIOStat(r io.Reader) (IOStat, error) {
	b, err := slurp(r)
	if err != nil {
		return IOStat{}, err
	}
	return parseIOStatBytes(b)
}

func parseIOStatBytes(b []byte) (IOStat, error) {
	s := IOStat{Devices: []IODevice{}}
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		var err error
		if s.Devices, err = parseIOStatLine(s.Devices, line); err != nil {
			return IOStat{}, err
		}
	}
	return s, nil
}

// parseIOStatLine appends the device entries of one io.stat line to devs.
func parseIOStatLine(devs []IODevice, line []byte) ([]IODevice, error) {
	var d *IODevice
	var seen uint8
	finish := func() error {
		if d != nil && seen != 0 && seen != 15 {
			return fmt.Errorf("io.stat: %d:%d: rbytes, wbytes, rios or wios missing: %w", d.Major, d.Minor, ErrSyntax)
		}
		return nil
	}
	rest := line
	for len(rest) > 0 {
		var tok []byte
		tok, rest, _ = bytes.Cut(rest, []byte{' '})
		if len(tok) == 0 {
			continue
		}
		k, v, isKV := bytes.Cut(tok, []byte{'='})
		if !isKV {
			ma, mi, ok := bytes.Cut(tok, []byte{':'})
			maj, ok1 := atou(ma)
			min, ok2 := atou(mi)
			if !ok || !ok1 || !ok2 || maj > 1<<32-1 || min > 1<<32-1 {
				return nil, errSyntax("io.stat", string(line))
			}
			if err := finish(); err != nil {
				return nil, err
			}
			devs = append(devs, IODevice{Major: uint32(maj), Minor: uint32(min)})
			d, seen = &devs[len(devs)-1], 0
			continue
		}
		if d == nil {
			return nil, errSyntax("io.stat", string(line))
		}
		var dst *uint64
		var bit uint8
		switch string(k) {
		case "rbytes":
			dst, bit = &d.RBytes, 1
		case "wbytes":
			dst, bit = &d.WBytes, 2
		case "rios":
			dst, bit = &d.RIOs, 4
		case "wios":
			dst, bit = &d.WIOs, 8
		default:
			continue
		}
		n, ok := atou(v)
		if !ok {
			return nil, errSyntax("io.stat", string(line))
		}
		*dst, seen = n, seen|bit
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return devs, nil
}
