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
	rings    map[string]*cpuRing // flat-cpu: unit ID → samples
	hits     map[string]*detHit  // unit ID → last firing
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
			delete(de.rings, u.ID)
			continue
		}
		f, match := de.match(u, now, e.cfg)
		hit := de.hits[u.ID]
		if !match {
			if hit != nil && !now.Before(hit.until) {
				delete(de.hits, u.ID)
			}
			continue
		}
		if hit != nil && now.Before(hit.rearmAt) {
			continue
		}
		if de.d.Action == string(Evict) && (e.recentlyEvicted(now, u.ID, e.cfg.DryRun) || (!e.cfg.DryRun && !e.budget.allow(now))) {
			continue // being evicted, or no budget left: try again next snapshot
		}
		reason, ev := de.describe(u, f)
		d := decision{
			kind: Kind(de.d.Action), unit: u, factor: de.d.Factor, dur: de.d.For,
			detector: de.d.Name, reason: reason, evidence: ev, dryRun: e.cfg.DryRun,
		}
		if d.factor <= 0 || d.factor >= 1 {
			d.factor = e.cfg.DefaultFactor
		}
		if d.dur <= 0 {
			d.dur = e.cfg.DefaultFor
		}
		a, ok := e.impose(now, d)
		if !ok {
			continue // eviction budget used up: try again next snapshot
		}
		h := &detHit{until: now.Add(d.dur), rearmAt: now.Add(d.dur + e.cfg.DetectorCooldown)}
		if d.kind == Evict {
			h.until, h.rearmAt = now, now.Add(e.cfg.EvictRetry)
		}
		de.hits[u.ID] = h
		if a != nil {
			out = append(out, *a)
		}
	}
	return out
}

// forget drops the state of units absent from the snapshot.
func (de *detEval) forget(present map[string]*Unit) {
	for id := range de.rings {
		if present[id] == nil {
			delete(de.rings, id)
		}
	}
	for id := range de.hits {
		if present[id] == nil {
			delete(de.hits, id)
		}
	}
}

// found is what a detector matched on a unit; describe turns it into words
// only when the detector acts (matching runs for every unit on every tick).
type found struct {
	process, pattern string         // process-name
	endpoint         netip.AddrPort // endpoint
	port             bool           // endpoint matched on its port (else prefix)
	prefix           netip.Prefix
	mean, sd, lo, n  float64 // flat-cpu
	maxSD            float64
}

// match reports whether u matches now. For flat-cpu it first feeds u's
// sample into its ring.
func (de *detEval) match(u *Unit, now time.Time, cfg Config) (found, bool) {
	switch de.d.Kind {
	case KindFlatCPU:
		return de.matchFlatCPU(u, now, cfg)
	case KindProcessName:
		for _, p := range u.Processes {
			base := path.Base(p)
			for _, pat := range de.d.Names {
				if ok, _ := path.Match(pat, base); ok {
					return found{process: base, pattern: pat}, true
				}
			}
		}
	case KindEndpoint:
		for _, ep := range u.Endpoints {
			if slices.Contains(de.d.Ports, int(ep.Port())) {
				return found{endpoint: ep, port: true}, true
			}
			a := ep.Addr().Unmap()
			for _, p := range de.prefixes {
				if p.Contains(a) {
					return found{endpoint: ep, prefix: p}, true
				}
			}
		}
	}
	return found{}, false
}

// describe returns the reason and evidence of a match.
func (de *detEval) describe(u *Unit, f found) (string, map[string]string) {
	who := fmt.Sprintf("%s (%s, tenant %s)", u.label(), u.Class, u.Tenant)
	switch de.d.Kind {
	case KindFlatCPU:
		return fmt.Sprintf("%s used %s CPUs on average with a standard deviation of %s over %s (min_cpus %s, max_stddev %s)",
				who, fmtVal(f.mean), fmtVal(f.sd), de.d.Window, fmtVal(de.d.MinCPUs), fmtVal(f.maxSD)),
			map[string]string{
				"mean_cpus": fmtVal(f.mean), "stddev": fmtVal(f.sd), "min_sample": fmtVal(f.lo),
				"samples": fmtVal(f.n), "window": de.d.Window.String(),
			}
	case KindProcessName:
		return fmt.Sprintf("%s runs process %q, matching %q of detector %s", who, f.process, f.pattern, de.d.Name),
			map[string]string{"process": f.process, "pattern": f.pattern}
	default:
		if f.port {
			return fmt.Sprintf("%s connects to %s, a denied port of detector %s", who, f.endpoint, de.d.Name),
				map[string]string{"endpoint": f.endpoint.String(), "port": fmt.Sprint(f.endpoint.Port())}
		}
		return fmt.Sprintf("%s connects to %s, inside denied %s of detector %s", who, f.endpoint, f.prefix, de.d.Name),
			map[string]string{"endpoint": f.endpoint.String(), "cidr": f.prefix.String()}
	}
}

// matchFlatCPU feeds u's CPU sample into its ring and matches when the
// samples cover the whole window without a gap, their mean is at least
// min_cpus and their standard deviation at most max_stddev: a flat,
// sustained load (a miner), unlike the bursts of builds and services. A
// unit with an unknown CPU sample is not fed (the gap then breaks the run).
func (de *detEval) matchFlatCPU(u *Unit, now time.Time, cfg Config) (found, bool) {
	r := de.rings[u.ID]
	if r == nil {
		r = newCPURing(de.d.Window)
		de.rings[u.ID] = r
	}
	if u.Usage.CPU >= 0 {
		r.add(now, u.Usage.CPU, cfg.MaxGap)
	}
	n, mean, sd, lo, covered := r.stats(now)
	maxSD := de.d.MaxStddev
	if maxSD <= 0 {
		maxSD = cfg.MaxStddev
	}
	if n == 0 || covered < de.d.Window || mean < de.d.MinCPUs || sd > maxSD {
		return found{}, false
	}
	return found{mean: mean, sd: sd, lo: lo, n: n, maxSD: maxSD}, true
}
