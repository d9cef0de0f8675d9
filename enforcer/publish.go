package enforcer

import (
	"maps"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
)

func hostCPUs() int { return runtime.NumCPU() }

// publish builds the View readers see until the next tick.
func (e *Enforcer) publish(start time.Time, host view.HostView, plans []plan, errs int) {
	v := &view.View{Time: start, Source: e.source(), DryRun: e.cfg.DryRun, Policy: e.policyStatus(), Host: host}
	modes := map[string]string{}
	for _, p := range plans {
		if m, ok := modes[p.tenant]; !ok || m == "caps" {
			modes[p.tenant] = p.mode
		}
	}
	pens := e.det.Penalties()
	penBy := map[string]*view.PenaltyView{}
	for i := range pens {
		penBy[pens[i].Cgroup] = &pens[i] // by cgroup: IDs may be claimed twice
	}
	tenants := map[string]*view.TenantView{}
	pol := e.currentPolicy() // once: a reload during publish must not change it halfway
	if pol != nil {
		for _, t := range pol.Tenants {
			tv := &view.TenantView{Name: t.Name, Class: string(t.Class), Mode: modes[t.Name]}
			if tv.Class == "" {
				tv.Class = "burstable"
			}
			if tv.Mode == "" {
				tv.Mode = "caps"
				if hasAggregate(t.Limits) {
					tv.Mode = "slice"
				}
			}
			l := t.Limits
			if l.CPUs != nil {
				tv.Limits.CPUs = *l.CPUs
			}
			if l.Memory != nil && *l.Memory > 0 {
				tv.Limits.MemoryBytes = *l.Memory
			}
			if l.Swap != nil && *l.Swap > 0 {
				tv.Limits.SwapBytes = *l.Swap
			}
			if l.Pids != nil && *l.Pids > 0 {
				tv.Limits.Pids = *l.Pids
			}
			if l.Net != nil {
				tv.Limits.NetEgress, tv.Limits.NetIngress = l.Net.EgressBits, l.Net.IngressBits
			}
			if l.Disk != nil {
				tv.Limits.DiskBytes = l.Disk.Bytes
			}
			tenants[t.Name] = tv
		}
	}
	v.Containers = make([]view.ContainerView, 0, len(e.known))
	for _, cg := range e.sortedKnown() { // in order: readers list them so
		t := e.known[cg]
		t.errTotal += uint64(len(t.errs))
		cv := view.ContainerView{Container: t.c, Usage: t.usage, Errors: append([]string(nil), t.errs...), ErrorsTotal: t.errTotal}
		e.publishLimits(t, &cv)
		cv.Penalty = penBy[t.c.Cgroup]
		if tv := tenants[t.c.Tenant]; tv != nil {
			tv.Containers++
			addUsage(&tv.Usage, t.usage)
		}
		v.Containers = append(v.Containers, cv)
	}
	for name, b := range e.tenantDisk { // one shared project: the kernel's total, not a sum
		if tv := tenants[name]; tv != nil {
			tv.Usage.DiskBytes = b
		}
	}
	for _, ev := range e.events.recent(200) {
		if tv := tenants[ev.Tenant]; tv != nil && ev.Kind != "limit" && ev.Kind != "restore" {
			tv.LastAction = ev.Kind + " " + ev.Target + " at " + ev.Time.Format("15:04:05")
		}
	}
	if pol != nil {
		for _, t := range pol.Tenants {
			v.Tenants = append(v.Tenants, *tenants[t.Name])
		}
	}
	v.Penalties = pens
	for _, q := range e.det.eng.Quarantines() {
		who := q.Identity
		if who == "" {
			who = q.Target.Cgroup
		}
		v.Quarantine = append(v.Quarantine, view.QuarantineView{ID: q.Target.ID, Cgroup: q.Target.Cgroup, Identity: who,
			Rule: q.Rule + q.Detector, Since: q.Since, Until: q.Until, Kills: q.Kills, Reason: q.Reason})
	}
	v.Rules = e.ruleViews()
	e.ticks++
	e.errorsTotal += uint64(errs)
	v.Loop = view.LoopStatus{Interval: e.cfg.Interval, LastTick: start, LastDuration: e.clock.Now().Sub(start),
		Watched: len(e.known), Errors: errs, ErrorsTotal: e.errorsTotal, Ticks: e.ticks,
		Woken: e.wokenTicks, FullReads: e.fullReads}
	e.view.Store(v)
}

func addUsage(dst *view.Usage, u view.Usage) {
	dst.At = u.At
	dst.CPUs += u.CPUs
	dst.MemoryBytes += u.MemoryBytes
	dst.SwapBytes += u.SwapBytes
	dst.IOReadBps += u.IOReadBps
	dst.IOWriteBps += u.IOWriteBps
	dst.Pids += u.Pids
	dst.NetRxBps += u.NetRxBps
	dst.NetTxBps += u.NetTxBps
	dst.DiskBytes += u.DiskBytes
	dst.OOMKills += u.OOMKills
	if u.CPUPressure > dst.CPUPressure {
		dst.CPUPressure = u.CPUPressure
	}
	if u.MemoryPressure > dst.MemoryPressure {
		dst.MemoryPressure = u.MemoryPressure
	}
	if u.IOPressure > dst.IOPressure {
		dst.IOPressure = u.IOPressure
	}
	if u.ThrottledPct > dst.ThrottledPct {
		dst.ThrottledPct = u.ThrottledPct
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// limitsOf lists what quell set on cg: the files it keeps originals of,
// with their current values and why, and the files its plan wants that
// the container runtime's own limit decided (quell left them as the
// runtime set them: the value is also the original).
func (e *Enforcer) limitsOf(cg string) []view.Limit {
	ls, _, _ := e.limitsRead(cg)
	return ls
}

// limitsRead is limitsOf, with the originals it started from (the
// store's) and whether every value came from this pass's reconcile
// (none read now).
func (e *Enforcer) limitsRead(cg string) (out []view.Limit, stored map[string]string, fromPass bool) {
	stored = e.store.Originals(cg)
	orig := stored
	why, by := e.applied[cg].why, e.applied[cg].by
	vals := e.applied[cg].values
	for k, v := range vals {
		if _, ok := orig[k]; !ok && by[fileOfKey(k)] == "runtime" {
			if sameMap(orig, stored) {
				orig = maps.Clone(stored)
			}
			orig[k] = v
		}
	}
	fromPass = true
	files := make([]string, 0, len(orig))
	for f := range orig {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		cur, ok := vals[f]
		if !ok { // not re-read this tick (restored, or dry-run): read it now
			fromPass = false
			v, err := e.fs.Read(cg, fileOfKey(f))
			if err != nil {
				v = "unreadable: " + err.Error()
			}
			cur = strings.TrimSpace(v)
		}
		out = append(out, view.Limit{File: f, Value: cur, Original: orig[f], Why: why[fileOfKey(f)], DecidedBy: by[fileOfKey(f)]})
	}
	return out, stored, fromPass
}

// setOf turns the values in force (limitsOf) into numbers, so that no
// reader parses a cgroup file. Each value is parsed on its own by
// limits.ParseWrites: one that does not parse (unreadable, garbage) leaves
// only its own limit unset, and "max" or a non-positive value is unset too.
func setOf(ls []view.Limit) view.ContainerLimits {
	var out view.ContainerLimits
	for _, l := range ls {
		switch l.File {
		case "cpu.max", "memory.max", "memory.swap.max", "pids.max":
		default:
			continue
		}
		r, err := limits.ParseWrites([]limits.Write{{File: l.File, Value: l.Value}})
		if err != nil {
			continue
		}
		switch {
		case r.CPUQuota != nil && *r.CPUQuota > 0:
			out.CPUs = float64(*r.CPUQuota) / float64(r.CPUPeriod)
		case r.MemoryMax != nil:
			out.MemoryBytes = max(*r.MemoryMax, 0)
		case r.SwapMax != nil:
			out.SwapBytes = max(*r.SwapMax, 0)
		case r.PidsMax != nil:
			out.Pids = max(*r.PidsMax, 0)
		}
	}
	return out
}

// ruleViews is the detection engine's rule state for the view.
func (e *Enforcer) ruleViews() []view.RuleView {
	rs := e.det.eng.Rules()
	if len(rs) == 0 {
		return nil
	}
	out := make([]view.RuleView, 0, len(rs))
	for _, r := range rs {
		out = append(out, view.RuleView{Rule: r.Rule, Tenant: r.Tenant, Signal: r.Signal, Value: r.Value, HasValue: r.HasValue,
			HeldFor: r.HeldFor, Step: r.Step + 1, Culprit: r.Culprit, CulpritName: r.CulpritName,
			CooldownUntil: r.CooldownUntil, Waiting: r.Waiting})
	}
	return out
}
