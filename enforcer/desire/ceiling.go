package desire

// ceiling.go lays the limits a container's runtime set over its plan: they
// are ceilings the policy only tightens (unless its tenant says
// override = true, which Tenant checks).

import (
	"fmt"
	"maps"
	"strings"

	"github.com/quell-dev/quell/limits"
)

// Ceiling tightens p by the runtime's limits rt, file by file, for the
// ceiling files p sets (memory.max, memory.high, memory.swap.max,
// pids.max, cpu.max and io.max device by device; see limits.Tighten): a
// runtime limit tighter than the plan's stays, so quell never loosens
// what the runtime set. Files p does not set are left alone (quell does not
// start managing a file because the runtime limited it), and the other
// files (weights, cpuset, memory.low) are the policy's. The files the
// runtime decided get DecidedRuntime and a reason naming both values.
func Ceiling(p Plan, rt limits.Resources) Plan {
	c := ceilings(rt)
	r := p.Res
	if r.MemoryMax == nil {
		c.MemoryMax = nil
	}
	if r.MemoryHigh == nil {
		c.MemoryHigh = nil
	}
	if r.SwapMax == nil {
		c.SwapMax = nil
	}
	if r.PidsMax == nil {
		c.PidsMax = nil
	}
	if r.CPUQuota == nil {
		c.CPUQuota, c.CPUPeriod = nil, 0
	}
	c.IOMax = nil
	for _, d := range rt.IOMax {
		for _, w := range r.IOMax {
			if w.Major == d.Major && w.Minor == d.Minor {
				c.IOMax = append(c.IOMax, d)
			}
		}
	}
	res := r.Tighten(c)
	before, after := byFile(r), byFile(res)
	var why, by map[string]string // copied on the first change: most plans have none, and keep the maps they came with
	for f, v := range after {
		if before[f] == v {
			continue
		}
		if why == nil {
			why, by = maps.Clone(p.Why), maps.Clone(p.By)
			if why == nil {
				why = map[string]string{}
			}
			if by == nil {
				by = map[string]string{}
			}
		}
		why[f] = fmt.Sprintf("the container runtime set %s (the policy wants %s): a limit the runtime set is a ceiling the policy only tightens (override = true in [[tenant]] lets it loosen)",
			oneLine(v), oneLine(before[f]))
		by[f] = DecidedRuntime
	}
	p.Res = res
	if why != nil {
		p.Why, p.By = why, by
	}
	return p
}

// ceilings is the part of r that bounds a cgroup from above: memory.max,
// memory.high, memory.swap.max, pids.max, cpu.max and io.max.
func ceilings(r limits.Resources) limits.Resources {
	return limits.Resources{CPUQuota: r.CPUQuota, CPUPeriod: r.CPUPeriod, MemoryMax: r.MemoryMax, MemoryHigh: r.MemoryHigh,
		SwapMax: r.SwapMax, PidsMax: r.PidsMax, IOMax: r.IOMax}
}

// oneLine joins byFile's lines (io.max's devices) with "; ".
func oneLine(v string) string {
	return strings.ReplaceAll(strings.TrimSuffix(v, "\n"), "\n", "; ")
}
