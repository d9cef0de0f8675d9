package detect

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"time"
)

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

// describe returns the reason, signals and evidence of a match.
func (de *detEval) describe(u *Unit, f found) (string, map[string]float64, map[string]string) {
	who := fmt.Sprintf("%s (%s, tenant %s)", u.label(), u.Class, u.Tenant)
	switch de.d.Kind {
	case KindFlatCPU:
		return fmt.Sprintf("%s used %s CPUs on average with a standard deviation of %s over %s (min_cpus %s, max_stddev %s)",
				who, fmtVal(f.mean), fmtVal(f.sd), de.d.Window, fmtVal(de.d.MinCPUs), fmtVal(f.maxSD)),
			map[string]float64{
				"mean_cpus": figure(f.mean), "stddev": figure(f.sd), "min_sample": figure(f.lo), "samples": figure(f.n),
			},
			map[string]string{"window": de.d.Window.String()}
	case KindProcessName:
		return fmt.Sprintf("%s runs process %q, matching %q of detector %s", who, f.process, f.pattern, de.d.Name),
			nil, map[string]string{"process": f.process, "pattern": f.pattern}
	default:
		if f.port {
			return fmt.Sprintf("%s connects to %s, a denied port of detector %s", who, f.endpoint, de.d.Name),
				map[string]float64{"port": float64(f.endpoint.Port())}, map[string]string{"endpoint": f.endpoint.String()}
		}
		return fmt.Sprintf("%s connects to %s, inside denied %s of detector %s", who, f.endpoint, f.prefix, de.d.Name),
			nil, map[string]string{"endpoint": f.endpoint.String(), "cidr": f.prefix.String()}
	}
}

// matchFlatCPU feeds u's CPU sample into its ring and matches when the
// samples cover the whole window without a gap, their mean is at least
// min_cpus and their standard deviation at most max_stddev: a flat,
// sustained load (a miner), unlike the bursts of builds and services. A
// unit with an unknown CPU sample is not fed (the gap then breaks the run).
func (de *detEval) matchFlatCPU(u *Unit, now time.Time, cfg Config) (found, bool) {
	r := de.rings[u.Cgroup]
	if r == nil {
		r = newCPURing(de.d.Window)
		de.rings[u.Cgroup] = r
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
