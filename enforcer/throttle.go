package enforcer

import (
	"fmt"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// A throttle tightens what its rule ranks on, by the step's factor, from
// the culprit's use in the last interval:
//
//   - always cpu.max: factor × the CPUs it used (at least 0.01 CPU), and
//     cpu.weight 1 so its neighbours run first when they are runnable;
//   - rank memory: memory.high = factor × memory.current, so the kernel
//     reclaims it and throttles its allocations (it is never OOM-killed for
//     it: memory.high does not kill);
//   - rank pids: pids.max = the number of tasks it had (a count has no
//     sensible fraction: the cap stops the growth, which is what hurts the
//     host; existing tasks keep running, new forks fail);
//   - rank io: io.max per device it did I/O on, factor × its read and write
//     bytes/s and IOPS on that device (a direction it did not use stays
//     "max").
//
// The values are fixed when the throttle is imposed and kept until it ends,
// merged with the tenant's own limits (the lower wins).

// throttleWeight is the cpu.weight of a throttled container (the minimum).
const throttleWeight uint64 = 1

// Floors for io throttles, so a throttle never stops a device outright.
const (
	minThrottleBPS  = 64 << 10 // 64 KiB/s
	minThrottleIOPS = 10
)

// throttleCaps are the pids.max and io.max parts of a throttle; they are
// kept on disk with the penalty (state.Penalty.PidsMax/IOMax) so a restart
// re-applies exactly the same throttle.
type throttleCaps struct {
	PidsMax int64          // 0 = not touched
	IOMax   []limits.IOMax // per device; nil = not touched
}

// throttleValues computes what throttle action a imposes on t (nil when the
// container is not tracked any more: then only the penalty is recorded).
func (e *Enforcer) throttleValues(pol *policies.Policy, a detect.Action, who string, t *tracked) (state.Penalty, throttleCaps) {
	p := state.Penalty{ID: a.Target.ID, Cgroup: a.Target.Cgroup, Action: "throttle", Rule: who, Step: a.Step,
		Factor: a.Factor, Since: e.clock.Now(), Deadline: a.Deadline, Reason: a.Reason}
	var c throttleCaps
	if t == nil {
		return p, c
	}
	p.CPUQuota = limits.CPUQuotaFor(maxf(t.usage.CPUs, 0.01)*a.Factor, limits.DefaultCPUPeriod)
	switch rankOf(pol, a.Rule) {
	case detect.RankMemory:
		if t.usage.MemoryBytes > 0 {
			p.MemoryHigh = int64(float64(t.usage.MemoryBytes) * a.Factor)
		}
	case detect.RankPids:
		if t.usage.Pids > 0 {
			c.PidsMax = t.usage.Pids
		}
	case detect.RankIO:
		c.IOMax = e.det.io.caps(a.Target.Cgroup, a.Factor)
	}
	return p, c
}

// throttleString is the "after" of a throttle event.
func throttleString(p state.Penalty, c throttleCaps) string {
	parts := []string{fmt.Sprintf("cpu.max %d %d", p.CPUQuota, limits.DefaultCPUPeriod)}
	if p.MemoryHigh > 0 {
		parts = append(parts, fmt.Sprintf("memory.high %d", p.MemoryHigh))
	}
	if c.PidsMax > 0 {
		parts = append(parts, fmt.Sprintf("pids.max %d", c.PidsMax))
	}
	for _, d := range c.IOMax {
		parts = append(parts, "io.max "+d.String())
	}
	return strings.Join(parts, ", ")
}

// ioRates keeps, per cgroup, the last io.stat sample the loop read and the
// per-device rates between the last two (Usage only has the sum).
type ioRates map[string]*ioTrack

type ioTrack struct {
	at    time.Time
	last  limits.IOStat
	rates []devRate
}

// devRate is one device's rates over the last interval.
type devRate struct {
	major, minor             uint32
	rbps, wbps, riops, wiops float64
}

// update takes this tick's samples (tracked.prev, read by observe) and
// forgets cgroups that are gone. A counter that went backwards gives no
// rate for that device.
func (r ioRates) update(known map[string]*tracked) {
	for cg := range r {
		if known[cg] == nil {
			delete(r, cg)
		}
	}
	for cg, t := range known {
		if t.prev.IO == nil || t.prevT.IsZero() {
			continue
		}
		tr := r[cg]
		if tr == nil {
			tr = &ioTrack{}
			r[cg] = tr
		}
		if tr.at.Equal(t.prevT) {
			continue
		}
		dt := t.prevT.Sub(tr.at).Seconds()
		tr.rates = tr.rates[:0]
		if !tr.at.IsZero() && dt > 0 {
			for _, d := range t.prev.IO.Devices {
				p, ok := tr.last.Device(d.Major, d.Minor)
				if !ok || d.RBytes < p.RBytes || d.WBytes < p.WBytes || d.RIOs < p.RIOs || d.WIOs < p.WIOs {
					continue
				}
				tr.rates = append(tr.rates, devRate{major: d.Major, minor: d.Minor,
					rbps: float64(d.RBytes-p.RBytes) / dt, wbps: float64(d.WBytes-p.WBytes) / dt,
					riops: float64(d.RIOs-p.RIOs) / dt, wiops: float64(d.WIOs-p.WIOs) / dt})
			}
		}
		tr.at, tr.last = t.prevT, *t.prev.IO
	}
}

// caps is the io.max of an io throttle by factor on cg: for each device with
// I/O in the last interval, factor × each rate it used (with floors); nil
// when cg did no I/O.
func (r ioRates) caps(cg string, factor float64) []limits.IOMax {
	tr := r[cg]
	if tr == nil {
		return nil
	}
	var out []limits.IOMax
	for _, d := range tr.rates {
		m := limits.IOMax{Major: d.major, Minor: d.minor,
			RBPS: scaled(d.rbps, factor, minThrottleBPS), WBPS: scaled(d.wbps, factor, minThrottleBPS),
			RIOPS: scaled(d.riops, factor, minThrottleIOPS), WIOPS: scaled(d.wiops, factor, minThrottleIOPS)}
		if m != (limits.IOMax{Major: d.major, Minor: d.minor}) {
			out = append(out, m)
		}
	}
	return out
}

// scaled is factor × rate, at least floor; 0 ("max") for a rate not used.
func scaled(rate, factor float64, floor uint64) uint64 {
	if rate < 1 {
		return 0
	}
	return max(uint64(rate*factor), floor)
}

// tighterThrottle merges a new throttle into one already in force: each
// value is the tighter of the two (a value one of them does not set is
// taken from the other), so a second rule neither compounds the first's
// factor on already throttled usage nor drops what the first one set.
func tighterThrottle(old state.Penalty, oc throttleCaps, nw state.Penalty, nc throttleCaps) (state.Penalty, throttleCaps) {
	// The new quota was computed from usage the first throttle already
	// held down (factor × factor): keep the first one's.
	if old.CPUQuota > 0 {
		nw.CPUQuota = old.CPUQuota
	}
	t := throttleLimits(old, oc).Tighten(throttleLimits(nw, nc))
	nw.MemoryHigh, nc.PidsMax, nc.IOMax = orZero(t.MemoryHigh), orZero(t.PidsMax), t.IOMax
	return nw, nc
}

// throttleLimits is what a throttle imposes on its container's limits (a 0
// in the penalty sets nothing): with a quota, cpu.max at it and cpu.weight
// throttleWeight; memory.high, pids.max and io.max.
func throttleLimits(p state.Penalty, c throttleCaps) limits.Resources {
	r := limits.Resources{IOMax: c.IOMax}
	if p.CPUQuota > 0 {
		q, w := p.CPUQuota, throttleWeight
		r.CPUQuota, r.CPUPeriod, r.CPUWeight = &q, limits.DefaultCPUPeriod, &w
	}
	if p.MemoryHigh > 0 {
		h := p.MemoryHigh
		r.MemoryHigh = &h
	}
	if c.PidsMax > 0 {
		n := c.PidsMax
		r.PidsMax = &n
	}
	return r
}

func orZero(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
