package detect

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/quell-dev/quell/policies"
)

// Detector kinds (policies.Detector.Kind).
const (
	KindFlatCPU     = "flat-cpu"
	KindProcessName = "process-name"
	KindEndpoint    = "endpoint"
)

// detEval is a compiled detector and its per-unit state.
type detEval struct {
	d        policies.Detector
	prefixes []netip.Prefix
	rings    map[string]*cpuRing // flat-cpu: unit cgroup → samples
	hits     map[string]*detHit  // unit cgroup → last firing
}

// detHit remembers that a detector acted on a unit.
type detHit struct {
	until   time.Time // end of the penalty it imposed (the firing time for evict)
	rearmAt time.Time // it may act again on a still-matching unit from then
}

func compileDetector(d policies.Detector) (*detEval, error) {
	de := &detEval{d: d, rings: map[string]*cpuRing{}, hits: map[string]*detHit{}}
	switch Kind(d.Action) {
	case Throttle, Freeze, Evict:
	default:
		return nil, fmt.Errorf("detector %s: unknown action %q", d.Name, d.Action)
	}
	switch d.Kind {
	case KindFlatCPU:
		if d.Window <= 0 || d.MinCPUs <= 0 {
			return nil, fmt.Errorf("detector %s: flat-cpu needs window > 0 and min_cpus > 0", d.Name)
		}
	case KindProcessName:
		if len(d.Names) == 0 {
			return nil, fmt.Errorf("detector %s: process-name needs names", d.Name)
		}
		for _, n := range d.Names {
			if _, err := path.Match(n, ""); err != nil {
				return nil, fmt.Errorf("detector %s: name %q: %w", d.Name, n, err)
			}
		}
	case KindEndpoint:
		if len(d.Ports) == 0 && len(d.Addresses) == 0 {
			return nil, fmt.Errorf("detector %s: endpoint needs ports or addresses", d.Name)
		}
		for _, a := range d.Addresses {
			p, err := parsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("detector %s: address %q: %w", d.Name, a, err)
			}
			de.prefixes = append(de.prefixes, p)
		}
	default:
		return nil, fmt.Errorf("detector %s: unknown kind %q", d.Name, d.Kind)
	}
	return de, nil
}

// parsePrefix accepts a CIDR or a bare address (a single-host prefix).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// targetable reports whether a detector may act on u: never a protected or
// unassigned unit; the unit's class must be in the detector's classes (all
// when empty); a guaranteed unit within its limits only when "guaranteed" is
// listed explicitly (abuse such as mining is abuse in any class, but only if
// the operator says so).
func (de *detEval) targetable(u *Unit) bool {
	if u.Protected || u.Tenant == "" || !classAllowed(de.d.Classes, u.Class) {
		return false
	}
	if u.Class == policies.Guaranteed && u.WithinLimits {
		return slices.Contains(de.d.Classes, policies.Guaranteed)
	}
	return true
}

// evalDetector runs one detector over every unit of the snapshot. Each unit
// that matches is acted on once; the detector acts on it again only if it
// still matches DetectorCooldown after that penalty ended (for evict:
// EvictRetry after the eviction, if the unit is somehow still there). A unit
// that stops matching after its penalty ended is forgotten.
func (e *Engine) evalDetector(s *Snapshot, de *detEval, out []Action) []Action {
	now := s.Time
	for i := range s.Units {
		u := &s.Units[i]
		if !de.targetable(u) {
			delete(de.rings, u.Cgroup)
			continue
		}
		f, match := de.match(u, now, e.cfg)
		hit := de.hits[u.Cgroup]
		if !match {
			if hit != nil && !now.Before(hit.until) {
				delete(de.hits, u.Cgroup)
			}
			continue
		}
		if hit != nil && now.Before(hit.rearmAt) {
			continue
		}
		if de.d.Action == string(Evict) && (e.recentlyEvicted(now, u.Cgroup, e.cfg.DryRun) || (!e.cfg.DryRun && !e.budget.allow(now))) {
			continue // being evicted, or no budget left: try again next snapshot
		}
		reason, sig, ev := de.describe(u, f)
		d := decision{
			kind: Kind(de.d.Action), unit: u, factor: de.d.Factor, dur: de.d.For,
			detector: de.d.Name, reason: reason, signals: sig, evidence: ev, dryRun: e.cfg.DryRun,
		}
		if d.factor <= 0 || d.factor >= 1 {
			d.factor = e.cfg.DefaultFactor
		}
		if d.dur <= 0 {
			d.dur = e.cfg.DefaultFor
		}
		at := s.actAt()
		a, ok := e.impose(at, d)
		if !ok {
			continue // eviction budget used up: try again next snapshot
		}
		h := &detHit{until: at.Add(d.dur), rearmAt: at.Add(d.dur + e.cfg.DetectorCooldown)}
		if d.kind == Evict {
			h.until, h.rearmAt = at, at.Add(e.cfg.EvictRetry)
		}
		de.hits[u.Cgroup] = h
		if a != nil {
			out = append(out, *a)
		}
	}
	return out
}

// forget drops the state of units absent from the snapshot.
func (de *detEval) forget(present map[string]*Unit) {
	for cg := range de.rings {
		if present[cg] == nil {
			delete(de.rings, cg)
		}
	}
	for cg := range de.hits {
		if present[cg] == nil {
			delete(de.hits, cg)
		}
	}
}
