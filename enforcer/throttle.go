package enforcer

import (
	"fmt"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// A throttle tightens what its rule ranks on, by the step's factor, from
// the culprit's use in the last interval:
//
//   - always cpu.weight 1, so its neighbours run first when they are
//     runnable, and but for rank memory cpu.max: factor × the CPUs it used
//     (at least 0.01 CPU);
//   - rank memory: memory.high = factor × memory.current, so the kernel
//     reclaims it and throttles its allocations (it is never OOM-killed for
//     it: memory.high does not kill), and no cpu.max: the reclaim runs in
//     its own tasks (see throttleOf);
//   - rank pids: pids.max = the number of tasks it had (a count has no
//     sensible fraction: the cap stops the growth, which is what hurts the
//     host; existing tasks keep running, new forks fail);
//   - rank io: io.max per device it did I/O on, factor × its read and write
//     bytes/s and IOPS on that device (a direction it did not use stays
//     "max").
//
// The values are fixed when the throttle is imposed (throttleOf, a
// limits.Resources in detect.Penalty.Throttle) and kept until it ends; the
// plan of its container is then plan.Res.Tighten(throttle) (desire: overlay).

// throttleWeight is the cpu.weight of a throttled container (the minimum).
const throttleWeight uint64 = 1

// Floors for io throttles, so a throttle never stops a device outright.
const (
	minThrottleBPS  = 64 << 10 // 64 KiB/s
	minThrottleIOPS = 10
)

// throttleOf is the penalty that throttle action a puts on t: the engine's
// penalty with the Throttle it imposes, fixed now and kept until it ends.
// When t is nil (the container is not tracked any more) the Throttle is
// empty: only the penalty is recorded.
func (e *Enforcer) throttleOf(pol *policies.Policy, a detect.Action, t *tracked) detect.Penalty {
	p := detect.Penalty{Target: a.Target, Kind: detect.Throttle, Factor: a.Factor, Rule: a.Rule, Detector: a.Detector,
		Step: a.Step, Since: e.clock.Now(), Deadline: a.Deadline, Reason: a.Reason}
	if t == nil {
		return p
	}
	th := &p.Throttle
	rank := rankOf(pol, a.Rule)
	// The lowest weight makes the scheduler run the culprit's neighbours
	// first whenever they are runnable, which is what a latency-sensitive
	// victim needs. cpu.max caps its share but lets it burst at the start
	// of every period; not on a memory throttle: the kernel reclaims what
	// a cgroup holds over memory.high in that cgroup's own tasks, and a
	// hog capped at a quarter of the CPU it used gave back its memory so
	// slowly that the host stayed under pressure (lab, 2026-12-06: 2.2 GiB
	// still held 3 s after memory.high was set to 570 MiB; the victim's
	// p99 at 4.1x its alone figure after the action).
	w := throttleWeight
	th.CPUWeight = &w
	if q := limits.CPUQuotaFor(maxf(t.usage.CPUs, 0.01)*a.Factor, limits.DefaultCPUPeriod); q > 0 && rank != detect.RankMemory {
		th.CPUQuota, th.CPUPeriod = &q, limits.DefaultCPUPeriod
	}
	switch rank {
	case detect.RankMemory:
		if t.usage.MemoryBytes > 0 {
			h := int64(float64(t.usage.MemoryBytes) * a.Factor)
			th.MemoryHigh = &h
		}
	case detect.RankPids:
		if t.usage.Pids > 0 {
			n := t.usage.Pids
			th.PidsMax = &n
		}
	case detect.RankIO:
		th.IOMax = e.det.io.caps(a.Target.Cgroup, a.Factor)
	}
	return p
}

// throttleString is the "after" of a throttle event.
func throttleString(th limits.Resources) string {
	var parts []string
	if th.CPUQuota != nil {
		parts = append(parts, fmt.Sprintf("cpu.max %d %d", *th.CPUQuota, limits.DefaultCPUPeriod))
	}
	if th.CPUWeight != nil {
		parts = append(parts, fmt.Sprintf("cpu.weight %d", *th.CPUWeight))
	}
	if th.MemoryHigh != nil {
		parts = append(parts, fmt.Sprintf("memory.high %d", *th.MemoryHigh))
	}
	if th.PidsMax != nil {
		parts = append(parts, fmt.Sprintf("pids.max %d", *th.PidsMax))
	}
	for _, d := range th.IOMax {
		parts = append(parts, "io.max "+d.String())
	}
	return strings.Join(parts, ", ")
}

// penaltyView is how the API shows a penalty.
func penaltyView(p detect.Penalty) view.PenaltyView {
	return view.PenaltyView{ID: p.Target.ID, Cgroup: p.Target.Cgroup, Action: string(p.Kind), Rule: p.By(),
		Factor: p.Factor, Since: p.Since, Deadline: p.Deadline, Reason: p.Reason}
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
func tighterThrottle(old, nw detect.Penalty) detect.Penalty {
	// The new quota was computed from usage the first throttle already
	// held down (factor × factor): keep the first one's.
	if o := old.Throttle; o.CPUQuota != nil {
		nw.Throttle.CPUQuota, nw.Throttle.CPUPeriod = o.CPUQuota, o.CPUPeriod
	}
	nw.Throttle = old.Throttle.Tighten(nw.Throttle)
	return nw
}
