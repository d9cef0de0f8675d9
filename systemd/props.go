package systemd

import (
	"errors"
	"fmt"
	"math"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/quell-dev/quell/limits"
)

// Infinity is systemd's "no limit" for the `t` properties (USEC_INFINITY,
// CGROUP_LIMIT_MAX).
const Infinity uint64 = math.MaxUint64

// cpuQuotaStep is the resolution systemd keeps CPUQuotaPerSecUSec at across
// `daemon-reload`: the drop-in stores "CPUQuota=N%" with N truncated to an
// integer, i.e. 10 ms per second.
const cpuQuotaStep = 10000

// ErrNotRepresentable means a value is valid in cgroupfs but systemd refuses
// it as a unit property (MemoryMax=0, TasksMax=0, a weight out of 1..10000).
// The caller decides whether to write that cgroup through cgroupfs instead.
var ErrNotRepresentable = errors.New("not representable as a systemd unit property")

// IOLimit is the D-Bus element of the IO*Max properties, signature (st).
type IOLimit struct {
	Path  string
	Limit uint64
}

// Properties maps r to systemd unit properties, in a fixed order, leaving
// out every nil field (nothing to change). devicePath turns an io.max
// device number into the block device path systemd wants; it is called only
// when r.IOMax is not empty.
//
// The values and D-Bus types are:
//   - CPUQuota (µs per CPUPeriod) → CPUQuotaPerSecUSec (t), rounded up to
//     10 ms per second so that daemon-reload keeps it, plus
//     CPUQuotaPeriodUSec (t, CPUPeriod or limits.DefaultCPUPeriod); limits.Max → Infinity.
//     systemd then writes cpu.max as quota_per_sec*period/1e6 (EffectiveCPUQuota).
//   - CPUWeight, IOWeight → t (1..10000).
//   - CpusetCPUs, CpusetMems → AllowedCPUs, AllowedMemoryNodes (ay bitmask,
//     bit i%8 of byte i/8 for CPU i); "" resets to the parent's set.
//   - MemoryMax, MemoryHigh, MemoryLow, SwapMax (MemorySwapMax), PidsMax
//     (TasksMax) → t bytes/tasks; limits.Max → Infinity.
//   - IOMax → IOReadBandwidthMax, IOWriteBandwidthMax, IOReadIOPSMax,
//     IOWriteIOPSMax, each a(st) of (device path, limit) with a zero rate
//     sent as Infinity (lifts that limit). A non-nil empty IOMax sends four
//     empty arrays, which lifts every io limit of the unit.
//
// It returns an error wrapping ErrNotRepresentable for values systemd
// rejects, and the devicePath error for an unknown device.
func Properties(r limits.Resources, devicePath func(major, minor uint32) (string, error)) ([]sddbus.Property, error) {
	var props []sddbus.Property
	add := func(name string, v any) {
		props = append(props, sddbus.Property{Name: name, Value: godbus.MakeVariant(v)})
	}

	if r.CPUQuota != nil {
		period := r.CPUPeriod
		if period == 0 {
			period = limits.DefaultCPUPeriod
		}
		perSec, err := cpuQuotaPerSec(*r.CPUQuota, period)
		if err != nil {
			return nil, err
		}
		add("CPUQuotaPerSecUSec", perSec)
		add("CPUQuotaPeriodUSec", period)
	}
	if r.CPUWeight != nil {
		if err := checkWeight("CPUWeight", *r.CPUWeight); err != nil {
			return nil, err
		}
		add("CPUWeight", *r.CPUWeight)
	}
	for _, c := range []struct {
		name string
		list *string
	}{{"AllowedCPUs", r.CpusetCPUs}, {"AllowedMemoryNodes", r.CpusetMems}} {
		if c.list == nil {
			continue
		}
		mask, err := CPUSetMask(*c.list)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		add(c.name, mask)
	}
	for _, m := range []struct {
		name string
		v    *int64
		min  int64
	}{
		{"MemoryMax", r.MemoryMax, 1},
		{"MemoryHigh", r.MemoryHigh, 1},
		{"MemoryLow", r.MemoryLow, 0},
		{"MemorySwapMax", r.SwapMax, 0},
		{"TasksMax", r.PidsMax, 1},
	} {
		if m.v == nil {
			continue
		}
		v, err := limitValue(m.name, *m.v, m.min)
		if err != nil {
			return nil, err
		}
		add(m.name, v)
	}
	if r.IOMax != nil {
		io, err := ioProperties(r.IOMax, devicePath)
		if err != nil {
			return nil, err
		}
		props = append(props, io...)
	}
	if r.IOWeight != nil {
		if err := checkWeight("IOWeight", *r.IOWeight); err != nil {
			return nil, err
		}
		add("IOWeight", *r.IOWeight)
	}
	return props, nil
}

// EffectiveCPUQuota is the cpu.max quota systemd writes for a limit of quota
// µs per period µs set through Properties: the per-second quota rounded up to
// 10 ms, scaled back to the period. The enforcer compares read-back cpu.max
// with this, not with quota. limits.Max returns limits.Max.
func EffectiveCPUQuota(quota int64, period uint64) int64 {
	if period == 0 {
		period = limits.DefaultCPUPeriod
	}
	perSec, err := cpuQuotaPerSec(quota, period)
	if err != nil || perSec == Infinity {
		return quota
	}
	return int64(max(perSec*period/1000000, 1000)) // systemd's floor is 1 ms
}

func cpuQuotaPerSec(quota int64, period uint64) (uint64, error) {
	switch {
	case quota == limits.Max:
		return Infinity, nil
	case quota <= 0:
		return 0, fmt.Errorf("CPUQuotaPerSecUSec: quota %d: %w", quota, ErrNotRepresentable)
	}
	// Round up in integers: quota*1e6/period, then to a 10 ms step.
	perSec := (uint64(quota)*1000000 + period - 1) / period
	perSec = (perSec + cpuQuotaStep - 1) / cpuQuotaStep * cpuQuotaStep
	return perSec, nil
}

func checkWeight(name string, w uint64) error {
	if w < 1 || w > 10000 {
		return fmt.Errorf("%s: %d outside 1..10000: %w", name, w, ErrNotRepresentable)
	}
	return nil
}

func limitValue(name string, v, min int64) (uint64, error) {
	switch {
	case v == limits.Max:
		return Infinity, nil
	case v < min:
		return 0, fmt.Errorf("%s: %d below systemd's minimum %d: %w", name, v, min, ErrNotRepresentable)
	}
	return uint64(v), nil
}

func ioProperties(lines []limits.IOMax, devicePath func(major, minor uint32) (string, error)) ([]sddbus.Property, error) {
	names := [4]string{"IOReadBandwidthMax", "IOWriteBandwidthMax", "IOReadIOPSMax", "IOWriteIOPSMax"}
	var values [4][]IOLimit
	for i := range values {
		values[i] = []IOLimit{}
	}
	for _, l := range lines {
		path, err := devicePath(l.Major, l.Minor)
		if err != nil {
			return nil, fmt.Errorf("io device %d:%d: %w", l.Major, l.Minor, err)
		}
		for i, rate := range [4]uint64{l.RBPS, l.WBPS, l.RIOPS, l.WIOPS} {
			if rate == 0 {
				rate = Infinity
			}
			values[i] = append(values[i], IOLimit{Path: path, Limit: rate})
		}
	}
	props := make([]sddbus.Property, len(names))
	for i, name := range names {
		props[i] = sddbus.Property{Name: name, Value: godbus.MakeVariant(values[i])}
	}
	return props, nil
}
