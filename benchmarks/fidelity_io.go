package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// ioMaxCase: O_DIRECT transfers on the scratch ext4 disk under one io.max
// key; achieved = io.stat delta / the transfer's own duration.
func ioMaxCase(key string, smoke bool) Case {
	return Case{Section: Fidelity, Name: "io.max " + key, Est: 9 * time.Second, Smoke: smoke,
		Needs: needExt4,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			ma, mi, err := wholeDiskOf(env.Ext4Dev)
			if err != nil {
				return nil, err
			}
			c, err := newCgroup(env, "bench.slice/io-"+key)
			if err != nil {
				return nil, err
			}
			defer c.remove()
			path := filepath.Join(env.Ext4, "bench-io-"+key)
			defer os.Remove(path)
			// Lay the file down unthrottled first for the read cases.
			if key[0] == 'r' {
				if err := runHelper(env, c.dir, "dio", fmt.Sprintf("w %d %s %d", 1<<20, path, 16)); err != nil {
					return nil, err
				}
			}
			m := limits.IOMax{Major: ma, Minor: mi}
			var set float64
			var bs, mib int
			unit := "B/s"
			switch key {
			case "rbps", "wbps":
				set, bs, mib = 4<<20, 1<<20, pick(smoke, 8, 16)
				if key == "rbps" {
					m.RBPS = uint64(set)
				} else {
					m.WBPS = uint64(set)
				}
			case "riops", "wiops":
				set, bs, mib, unit = 200, 4096, pick(smoke, 2, 4), "IO/s"
				if key == "riops" {
					m.RIOPS = uint64(set)
				} else {
					m.WIOPS = uint64(set)
				}
			}
			if err := c.apply(limits.Resources{IOMax: []limits.IOMax{m}}); err != nil {
				return nil, err
			}
			before, _ := c.ioDev(ma, mi)
			p, err := labkit.StartChild(env.Self, c.dir, "dio", fmt.Sprintf("%c %d %s %d", key[0], bs, path, mib), false)
			if err != nil {
				return nil, err
			}
			l, err := p.Line(3 * time.Minute)
			if err != nil {
				return nil, err
			}
			f := strings.Fields(l)
			ns, _ := strconv.ParseFloat(f[len(f)-1], 64)
			secs := ns / 1e9
			after, _ := c.ioDev(ma, mi)
			var moved float64
			counter := "io.stat " + map[string]string{"rbps": "rbytes", "wbps": "wbytes", "riops": "rios", "wiops": "wios"}[key]
			switch key {
			case "rbps":
				moved = float64(after.RBytes - before.RBytes)
			case "wbps":
				moved = float64(after.WBytes - before.WBytes)
			case "riops":
				moved = float64(after.RIOs - before.RIOs)
			case "wiops":
				moved = float64(after.WIOs - before.WIOs)
			}
			ach := moved / secs
			if unit == "B/s" {
				set, ach, unit = set/(1<<20), ach/(1<<20), "MiB/s"
			}
			return crossChecked(env, []Result{Result{Control: "io.max", Case: "io.max " + key, Set: set, Achieved: round(ach, 3), Unit: unit,
				Method: fmt.Sprintf("%d MiB O_DIRECT in %d B blocks on ext4 %s (%d:%d); %s delta / transfer time", mib, bs, env.Ext4Dev, ma, mi, counter)}.WithError()}, c)
		}}
}

func (c *cgroup) ioDev(ma, mi uint32) (limits.IODevice, error) {
	s, err := c.stats()
	if s.IO == nil {
		return limits.IODevice{}, fmt.Errorf("no io.stat: %v", err)
	}
	d, _ := s.IO.Device(ma, mi)
	return d, nil
}

// runHelper runs a helper to completion inside dir.
func runHelper(env Env, dir, mode, arg string) error {
	p, err := labkit.StartChild(env.Self, dir, mode, arg, false)
	if err != nil {
		return err
	}
	for range p.Lines {
	}
	return p.Wait()
}

// needExt4 is the Needs of the cases on the scratch ext4 disk.
func needExt4(e Env) string {
	if e.Ext4 == "" || e.Ext4Dev == "" {
		return "no scratch ext4 disk (QUELL_LAB_EXT4)"
	}
	return ""
}

// wholeDiskOf is the device number of the whole disk dev (a device node)
// is on: io.max and io.weight take whole disks, not partitions.
func wholeDiskOf(dev string) (uint32, uint32, error) {
	ma, mi, err := limits.DeviceNumber(dev)
	if err != nil {
		return 0, 0, err
	}
	return limits.WholeDisk("/sys", ma, mi)
}
