package desire

// layers.go lays one set of limits over another (a cap over a share, a
// throttle over a plan) and says which layer decided each file.

import (
	"maps"

	"github.com/quell-dev/quell/limits"
)

// Throttle is a penalty in force on one container: the limits it imposes
// (fixed when it was imposed) and the reason shown for each file it decides.
type Throttle struct {
	Res limits.Resources
	Why string
}

// overlay tightens p by th (p.Res.Tighten(th.Res): the tighter of each
// ceiling, the throttle's weight) and gives the files th decided its reason.
func overlay(p Plan, th *Throttle) Plan {
	res := p.Res.Tighten(th.Res)
	why, by := maps.Clone(p.Why), maps.Clone(p.By)
	if why == nil {
		why = map[string]string{}
	}
	if by == nil {
		by = map[string]string{}
	}
	for _, f := range DecidedBy(p.Res, th.Res, res) {
		why[f], by[f] = th.Why, DecidedPenalty
	}
	p.Res, p.Why, p.By = res, why, by
	return p
}

// Alone plans a container its tenant does not plan (it has none, or one
// that sets no limits): its throttle alone, in "caps" mode under tenant; a
// container without one gets an empty plan (a throttle just lifted leaves
// nothing to write).
func Alone(c Container, tenant string) Plan {
	p := Plan{Cgroup: c.Cgroup, ID: c.ID, Why: map[string]string{}, By: map[string]string{}}
	if c.Throttle == nil {
		return p
	}
	p.Tenant, p.Mode = tenant, "caps"
	return overlay(p, c.Throttle)
}

// merge combines a split share with the per-container caps
// (share.Tighten(caps): for each numeric limit the tighter wins, Max
// counting as unlimited; for the rest the cap wins when set). why is
// updated for the files the cap decided.
func merge(share limits.Resources, why map[string]string, caps limits.Resources, capWhy string) (limits.Resources, map[string]string) {
	r := share.Tighten(caps)
	out := map[string]string{}
	for k, v := range why {
		out[k] = v
	}
	for _, f := range DecidedBy(share, caps, r) {
		out[f] = capWhy
	}
	return r, out
}

// DecidedBy lists the files that layer decided when base.Tighten(layer)
// gave got, by comparing the writes: the files layer sets whose value in
// got is layer's, or is not base's.
func DecidedBy(base, layer, got limits.Resources) []string {
	b, l, g := byFile(base), byFile(layer), byFile(got)
	var files []string
	for f, v := range l {
		if g[f] == v || g[f] != b[f] {
			files = append(files, f)
		}
	}
	return files
}

// byFile is r's writes by file, io.max's lines together.
func byFile(r limits.Resources) map[string]string {
	m := map[string]string{}
	for _, w := range r.Writes() {
		m[w.File] += w.Value + "\n"
	}
	return m
}
