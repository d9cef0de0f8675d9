package detect

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/quell-dev/quell/policies"
)

// Resources a rule can rank on (policies.Target.Rank).
const (
	RankCPU    = "cpu"
	RankMemory = "memory"
	RankIO     = "io"
	RankPids   = "pids"
)

func usageOf(u Usage, rank string) float64 {
	switch rank {
	case RankMemory:
		return u.Memory
	case RankIO:
		return u.IO
	case RankPids:
		return u.Pids
	default:
		return u.CPU
	}
}

func formatUsage(v float64, rank string) string {
	switch rank {
	case RankMemory:
		return fmt.Sprintf("%.0f MiB of memory", v/(1<<20))
	case RankIO:
		return fmt.Sprintf("%.1f MB/s of io", v/1e6)
	case RankPids:
		return fmt.Sprintf("%.0f pids", v)
	default:
		return fmt.Sprintf("%.2f CPUs", v)
	}
}

// tier orders classes: best-effort units are taken first, then burstable
// units over their guarantee, then guaranteed units over their limits.
func tier(c policies.Class) int {
	switch c {
	case policies.BestEffort:
		return 0
	case policies.Guaranteed:
		return 2
	default:
		return 1
	}
}

// candidate is a ranked unit.
type candidate struct {
	u     *Unit
	use   float64 // the unit's use of the ranked resource
	score float64 // its use beyond its proportional part of the tenant's guarantee
}

// eligible reports whether u may be a culprit of anything: never a
// protected or unassigned unit, never a guaranteed unit within its limits.
func eligible(u *Unit) bool {
	if u.Protected || u.Tenant == "" {
		return false
	}
	return u.Class != policies.Guaranteed || !u.WithinLimits
}

// classAllowed reports whether c is in classes; an empty list allows all.
func classAllowed(classes []policies.Class, c policies.Class) bool {
	return len(classes) == 0 || slices.Contains(classes, c)
}

// rank returns the culprit for a rule: among eligible units matching the
// target (classes, tenants; excluding the victim tenant of a tenant signal
// and units in skip), the one using the most of the ranked resource beyond
// what its tenant is guaranteed.
//
// A unit's score is its use × (1 − G/T), where G is its tenant's guarantee
// and T the tenant's total use over all its units in the snapshot: the unit's
// share of the tenant's use above the guarantee. Best-effort tenants have
// G = 0, so their score is their use. A unit with unknown use (negative) or
// a score ≤ 0 (its tenant is within its guarantee) is not a candidate.
// Candidates are ordered by tier (best-effort, burstable, guaranteed over its
// limits), then score, then use, then ID, then cgroup. ok is false when there is none.
func rank(s *Snapshot, tenantUse map[string]Usage, tg policies.Target, victim string, skip func(*Unit) bool) (c candidate, ok bool) {
	for i := range s.Units {
		u := &s.Units[i]
		if !eligible(u) || u.Tenant == victim || !classAllowed(tg.Classes, u.Class) {
			continue
		}
		if len(tg.Tenants) > 0 && !slices.Contains(tg.Tenants, u.Tenant) {
			continue
		}
		if skip != nil && skip(u) {
			continue
		}
		use := usageOf(u.Usage, tg.Rank)
		if !(use > 0) {
			continue
		}
		score := use
		if g := usageOf(s.Tenants[u.Tenant].Guarantee, tg.Rank); g > 0 {
			total := usageOf(tenantUse[u.Tenant], tg.Rank)
			score = use * (1 - g/total)
		}
		if !(score > 0) {
			continue
		}
		cand := candidate{u: u, use: use, score: score}
		if !ok || better(cand, c) {
			c, ok = cand, true
		}
	}
	return c, ok
}

func better(a, b candidate) bool {
	if d := cmp.Compare(tier(a.u.Class), tier(b.u.Class)); d != 0 {
		return d < 0
	}
	if a.score != b.score {
		return a.score > b.score
	}
	if a.use != b.use {
		return a.use > b.use
	}
	if a.u.ID != b.u.ID {
		return a.u.ID < b.u.ID
	}
	return a.u.Cgroup < b.u.Cgroup
}

// sumByTenant adds up the known use of each tenant's units.
func sumByTenant(units []Unit, into map[string]Usage) {
	clear(into)
	for i := range units {
		u := &units[i]
		if u.Tenant == "" {
			continue
		}
		t := into[u.Tenant]
		add := func(dst *float64, v float64) {
			if v > 0 {
				*dst += v
			}
		}
		add(&t.CPU, u.Usage.CPU)
		add(&t.Memory, u.Usage.Memory)
		add(&t.IO, u.Usage.IO)
		add(&t.Pids, u.Usage.Pids)
		into[u.Tenant] = t
	}
}
