package detect

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/quell-dev/quell/policies"
)

// Quarantine remembers a container the engine evicted, until Until: a
// runtime's restart policy (Docker --restart=always, a Kubernetes
// restartPolicy) brings an evicted container back in seconds, and a rule's
// "for" would let it do the harm again before acting. A unit seen running
// again within the quarantine (at the cgroup it was evicted from, or at any
// cgroup under the same Identity) is evicted again on sight. Dry-run
// evictions kill nothing and are not quarantined.
type Quarantine struct {
	Target Ref `json:"target"` // the unit last evicted
	// Identity is the unit's Identity (runtime, name, pod), "" when it had
	// none: then only its cgroup is watched.
	Identity string    `json:"identity,omitempty"`
	Rule     string    `json:"rule,omitempty"`
	Detector string    `json:"detector,omitempty"`
	Since    time.Time `json:"since"`     // first eviction
	LastKill time.Time `json:"last_kill"` // latest eviction (first or on sight)
	Until    time.Time `json:"until"`
	Kills    int       `json:"kills"`  // evictions so far, the first included
	Reason   string    `json:"reason"` // of the first eviction
	// Gone: since LastKill the evicted cgroup was seen gone or empty, so
	// its processes there are the runtime's restart, not the dying ones.
	Gone bool `json:"gone,omitempty"`
}

// QuarantineSettle is how long after a kill a unit still running at the
// cgroup it was killed in is taken for the runtime's restart even though
// no snapshot saw it gone or empty (the runtime restarted it between two
// passes). cgroup.kill is a SIGKILL to every task: only a task stuck in
// the kernel outlives it that long.
const QuarantineSettle = 5 * time.Second

// quarantineFor is how long units evicted by rule or detector name are
// remembered (the policy's quarantine, DefaultQuarantine when unset).
func (e *Engine) quarantineFor(rule, detector string) time.Duration {
	for _, re := range e.rules {
		if rule != "" && re.r.Name == rule {
			return policies.QuarantineOr(re.r.Quarantine)
		}
	}
	for _, de := range e.dets {
		if detector != "" && de.d.Name == detector {
			return policies.QuarantineOr(de.d.Quarantine)
		}
	}
	return policies.DefaultQuarantine
}

// quarantine records (or extends) the quarantine of u, evicted at now.
func (e *Engine) quarantine(now time.Time, u *Unit, rule, detector, reason string) {
	d := e.quarantineFor(rule, detector)
	if d <= 0 {
		return
	}
	for _, q := range e.quarantined {
		if q.Target.Cgroup == u.Cgroup || (q.Identity != "" && q.Identity == u.Identity) {
			q.Target, q.LastKill, q.Gone, q.Kills = u.ref(), now, false, q.Kills+1
			q.Until = later(q.Until, now.Add(d))
			if u.Identity != "" {
				q.Identity = u.Identity
			}
			return
		}
	}
	e.quarantined = append(e.quarantined, &Quarantine{Target: u.ref(), Identity: u.Identity, Rule: rule,
		Detector: detector, Since: now, LastKill: now, Until: now.Add(d), Kills: 1, Reason: reason})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Quarantined reports whether a unit at cgroup cg with identity id is
// watched by a quarantine (the enforcer then reads whether it holds
// processes: Unit.Populated).
func (e *Engine) Quarantined(cg, id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range e.quarantined {
		if q.Target.Cgroup == cg || (q.Identity != "" && q.Identity == id) {
			return true
		}
	}
	return false
}

// Quarantines returns the quarantines in force, for the state file and
// `quell explain`, sorted by cgroup.
func (e *Engine) Quarantines() []Quarantine {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Quarantine, 0, len(e.quarantined))
	for _, q := range e.quarantined {
		out = append(out, *q)
	}
	slices.SortFunc(out, func(a, b Quarantine) int { return cmp.Compare(a.Target.Cgroup, b.Target.Cgroup) })
	return out
}

// RestoreQuarantines loads quarantines saved before a restart; those that
// ended (by Config.Now) are dropped.
func (e *Engine) RestoreQuarantines(qs []Quarantine) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	for _, q := range qs {
		if now.Before(q.Until) && q.Target.Cgroup != "" {
			e.quarantined = append(e.quarantined, &q)
		}
	}
}

// onSight evicts again the quarantined units that are running again:
//
//   - a unit under the quarantine's Identity at another cgroup than the one
//     evicted is a new container (Kubernetes restarts under a new ID): it is
//     evicted as soon as it holds a process;
//   - at the evicted cgroup (Docker restarts under the same ID and cgroup),
//     it is evicted once it holds a process again after the cgroup was seen
//     gone or empty, or QuarantineSettle after the kill.
//
// Protected and unassigned units are never touched; a guaranteed unit
// within its limits only when the quarantine is a detector's that lists
// guaranteed. These evictions do not spend the eviction budget: the
// eviction they repeat did. A unit whose Populated is unknown waits.
func (e *Engine) onSight(s *Snapshot, out []Action) []Action {
	now := s.actAt()
	live := e.quarantined[:0]
	for _, q := range e.quarantined {
		if !s.Time.Before(q.Until) {
			continue
		}
		live = append(live, q)
		if u := e.byCg[q.Target.Cgroup]; u == nil || (u.Populated != nil && !*u.Populated) {
			q.Gone = true
		}
	}
	clear(e.quarantined[len(live):])
	e.quarantined = live
	for i := range s.Units {
		u := &s.Units[i]
		q := e.quarantineOf(u)
		if q == nil || u.Populated == nil || !*u.Populated || !e.mayQuarantine(q, u) {
			continue
		}
		same := u.Cgroup == q.Target.Cgroup
		if same && !q.Gone && now.Sub(q.LastKill) < QuarantineSettle {
			continue // the kill is still being carried out
		}
		how := "under the same identity (" + q.Identity + ") at " + u.Cgroup
		if same {
			how = "at the same cgroup"
		}
		reason := fmt.Sprintf("quarantine: %s was evicted by %s at %s (%s) and is running again %s; evicted again on sight (quarantined until %s)",
			u.label(), cmpOr(q.Rule, q.Detector), q.Since.Format(time.RFC3339), q.Reason, how, q.Until.Format(time.RFC3339))
		a := Action{Kind: Evict, Target: u.ref(), Rule: q.Rule, Detector: q.Detector, Reason: reason,
			Signals:  map[string]float64{"kills": float64(q.Kills)},
			Evidence: map[string]string{"quarantine": "until " + q.Until.Format(time.RFC3339), "identity": q.Identity, "evicted_cgroup": q.Target.Cgroup}}
		e.evicted[evictKey{u.Cgroup, false}] = now
		q.Target, q.LastKill, q.Gone, q.Kills = u.ref(), now, false, q.Kills+1
		out = append(out, a)
	}
	return out
}

// quarantineOf is the quarantine watching u: by cgroup first, then by
// identity; nil when none.
func (e *Engine) quarantineOf(u *Unit) *Quarantine {
	for _, q := range e.quarantined {
		if q.Target.Cgroup == u.Cgroup {
			return q
		}
	}
	if u.Identity == "" {
		return nil
	}
	for _, q := range e.quarantined {
		if q.Identity == u.Identity {
			return q
		}
	}
	return nil
}

// mayQuarantine reports whether q may act on u: never a protected or
// unassigned unit; a guaranteed unit within its limits only for a detector
// that lists guaranteed (as for the detector itself).
func (e *Engine) mayQuarantine(q *Quarantine, u *Unit) bool {
	if eligible(u) {
		return true
	}
	if u.Protected || u.Tenant == "" || q.Detector == "" {
		return false
	}
	for _, de := range e.dets {
		if de.d.Name == q.Detector {
			return de.targetable(u)
		}
	}
	return false
}
