package enforcer

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/quell-dev/quell/enforcer/discover"
	"github.com/quell-dev/quell/enforcer/view"
)

// View returns the picture published by the last tick. Never nil.
func (e *Enforcer) View() *view.View { return e.view.Load() }

// Events returns up to limit events after seq, oldest first.
func (e *Enforcer) Events(seq uint64, limit int) []view.Event {
	evs, _ := e.events.since(seq, limit)
	return evs
}

// WaitEvents is Events that waits (until ctx ends) when there are none yet.
func (e *Enforcer) WaitEvents(ctx context.Context, seq uint64, limit int) []view.Event {
	evs, wake := e.events.since(seq, limit)
	if len(evs) > 0 {
		return evs
	}
	select {
	case <-ctx.Done():
		return nil
	case <-wake:
	}
	evs, _ = e.events.since(seq, limit)
	return evs
}

// Plan computes what the next reconcile would write, per cgroup, old → new,
// without writing anything. It runs between ticks.
func (e *Enforcer) Plan(ctx context.Context) ([]view.PlanEntry, error) {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	pol := e.currentPolicy()
	if pol == nil {
		return nil, fmt.Errorf("no valid policy loaded: %s", strings.Join(e.policyStatus().Errors, "; "))
	}
	if len(e.known) == 0 && e.lastScan.IsZero() {
		e.discover(pol)
	}
	var out []view.PlanEntry
	ul := e.planUlimits(pol)
	for _, p := range e.desire(pol) {
		entry := view.PlanEntry{Cgroup: p.cgroup, Tenant: p.tenant}
		if p.t != nil {
			entry.Container = p.t.c.ID
		}
		if p.err != nil {
			entry.Changes = []view.Change{{File: "(error)", New: p.err.Error()}}
			out = append(out, entry)
			continue
		}
		ws := p.res.Writes()
		cur, err := e.fs.Current(p.cgroup, ws)
		if err != nil && p.t == nil {
			cur = nil // the tenant slice does not exist yet
		} else if err != nil {
			entry.Changes = []view.Change{{File: "(error)", New: err.Error()}}
			out = append(out, entry)
			continue
		}
		for _, d := range e.fs.Diff(cur, ws) {
			entry.Changes = append(entry.Changes, view.Change{File: d.File, Old: d.Old, New: d.New, Why: p.why[d.File]})
		}
		entry.Changes = append(entry.Changes, ul[p.cgroup]...)
		delete(ul, p.cgroup)
		if len(entry.Changes) > 0 {
			out = append(out, entry)
		}
	}
	for cg, ch := range ul { // containers whose cgroup files need nothing
		entry := view.PlanEntry{Cgroup: cg, Changes: ch}
		if t := e.known[cg]; t != nil {
			entry.Container, entry.Tenant = t.c.ID, t.c.Tenant
		}
		out = append(out, entry)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Cgroup < out[b].Cgroup })
	return out, nil
}

// Explain tells what quell knows and did about a container, found by ID
// (or a unique prefix of at least 4 characters), name or cgroup path.
func (e *Enforcer) Explain(ctx context.Context, key string) (*view.Explanation, error) {
	v := e.View()
	var hit *view.ContainerView
	for i := range v.Containers {
		c := &v.Containers[i]
		if c.ID == key || c.Cgroup == strings.TrimPrefix(key, "/") || c.Name == key || path.Base(c.Cgroup) == key ||
			(len(key) >= 4 && strings.HasPrefix(c.ID, key)) {
			if hit != nil && hit.ID != c.ID {
				return nil, fmt.Errorf("%q is ambiguous: %s and %s", key, hit.ID[:min(12, len(hit.ID))], c.ID[:min(12, len(c.ID))])
			}
			hit = c
		}
	}
	if hit == nil {
		return nil, fmt.Errorf("no container %q: %w (quell containers lists them)", key, view.ErrNotFound)
	}
	x := &view.Explanation{Container: *hit, Match: hit.MatchReason}
	switch {
	case strings.Contains(hit.MetaErr, discover.ErrIncomplete.Error()):
		x.Meta = fmt.Sprintf("%s container; name %q, init PID %d, %d labels; partly read: %s", hit.Runtime, hit.Name, hit.PID,
			len(hit.Labels), hit.MetaErr)
	case hit.MetaErr != "":
		x.Meta = "runtime metadata unreadable (" + hit.MetaErr + "); classified by cgroup path alone"
	default:
		x.Meta = fmt.Sprintf("%s container; name %q, init PID %d, %d labels", hit.Runtime, hit.Name, hit.PID, len(hit.Labels))
	}

	for i := range v.Tenants {
		if v.Tenants[i].Name == hit.Tenant {
			t := v.Tenants[i]
			x.Tenant = &t
		}
	}
	for _, l := range hit.Limits {
		x.Limits = append(x.Limits, view.Change{File: l.File, Old: l.Original, New: l.Value, Why: l.Why, DecidedBy: l.DecidedBy})
	}
	x.Rules = e.rulesFor(hit)
	x.Events = e.events.forTarget(hit.ID, hit.Cgroup)
	return x, nil
}

// rulesFor says which rules and detectors can target c, or why none can.
func (e *Enforcer) rulesFor(c *view.ContainerView) []string {
	pol := e.currentPolicy()
	if pol == nil || c.Tenant == "" {
		return []string{"no rule can target it: it belongs to no tenant"}
	}
	var out []string
	for _, r := range pol.Rules {
		ok := len(r.Target.Classes) == 0
		for _, cl := range r.Target.Classes {
			if string(cl) == c.Class {
				ok = true
			}
		}
		if ok && len(r.Target.Tenants) > 0 {
			ok = false
			for _, t := range r.Target.Tenants {
				if t == c.Tenant {
					ok = true
				}
			}
		}
		switch {
		case ok && c.Class == "guaranteed":
			out = append(out, fmt.Sprintf("rule %s: only while its tenant is over its own limits (class guaranteed)", r.Name))
		case ok && strings.HasPrefix(r.When.Signal, "tenant."):
			// A tenant signal names the tenant that suffers; the culprit is
			// sought in the other tenants (detect.rank), never in it.
			out = append(out, fmt.Sprintf("rule %s: when another tenant's %s %s, ranked by %s (its own tenant's pressure never makes it the target)",
				r.Name, r.When.Signal, cond(r.When.Above, r.When.Below), r.Target.Rank))
		case ok:
			out = append(out, fmt.Sprintf("rule %s: when %s %s, ranked by %s", r.Name, r.When.Signal, cond(r.When.Above, r.When.Below), r.Target.Rank))
		default:
			out = append(out, fmt.Sprintf("rule %s: not a target (class %s / tenant %s not in its target)", r.Name, c.Class, c.Tenant))
		}
	}
	for _, d := range pol.Detectors {
		out = append(out, fmt.Sprintf("detector %s (%s): %s", d.Name, d.Kind, d.Action))
	}
	if len(out) == 0 {
		out = append(out, "the policy has no rules or detectors")
	}
	return out
}

func cond(above, below *float64) string {
	if above != nil {
		return fmt.Sprintf("> %g", *above)
	}
	if below != nil {
		return fmt.Sprintf("< %g", *below)
	}
	return ""
}
