package policies

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// tenantMatcher is a tenant's Match with its globs compiled.
type tenantMatcher struct {
	cgroups []glob
	names   []glob
}

func (p *Policy) compile() {
	p.matchers = make([]tenantMatcher, len(p.Tenants))
	for i := range p.Tenants {
		m := &p.Tenants[i].Match
		tm := tenantMatcher{cgroups: make([]glob, len(m.Cgroups)), names: make([]glob, len(m.Names))}
		for j, g := range m.Cgroups {
			tm.cgroups[j] = compileGlob(g)
		}
		for j, g := range m.Names {
			tm.names[j] = compileGlob(g)
		}
		p.matchers[i] = tm
	}
}

// firstGlob returns the index of the first pattern matching s, or -1. It uses
// the compiled globs when there are as many as patterns (a Policy from Load
// or Parse), which does not allocate, else compiles them on the fly.
func firstGlob(patterns []string, compiled []glob, s string) int {
	for j, pat := range patterns {
		if len(compiled) == len(patterns) {
			if compiled[j].match(s) {
				return j
			}
		} else if g := compileGlob(pat); g.match(s) {
			return j
		}
	}
	return -1
}

// failure says why tenant i does not take the container, or "" when it does.
// It allocates only when it fails and reason is set.
func (p *Policy) failure(i int, cg string, c Container, reason bool) (bool, string) {
	m := &p.Tenants[i].Match
	var tm tenantMatcher
	if len(p.matchers) == len(p.Tenants) {
		tm = p.matchers[i]
	}
	if len(m.Cgroups) == 0 && len(m.Names) == 0 && len(m.Labels) == 0 && len(m.TrustedLabels) == 0 {
		return false, "its match is empty, which matches nothing"
	}
	if len(m.Cgroups) > 0 && firstGlob(m.Cgroups, tm.cgroups, cg) < 0 {
		if !reason {
			return false, ""
		}
		return false, "cgroup matches none of " + quoteList(m.Cgroups)
	}
	if len(m.Names) > 0 {
		if c.Name == "" {
			return false, "container name is unknown"
		}
		if firstGlob(m.Names, tm.names, c.Name) < 0 {
			if !reason {
				return false, ""
			}
			return false, fmt.Sprintf("name %q matches none of %s", c.Name, quoteList(m.Names))
		}
	}
	if ok, why := labelsHold(m.Labels, c.Labels, "label", reason); !ok {
		return false, why
	}
	if ok, why := labelsHold(m.TrustedLabels, c.TrustedLabels, "trusted label", reason); !ok {
		if k := firstMissing(m.TrustedLabels, c.TrustedLabels); why != "" && k != "" {
			if v, ok := c.Labels[k]; ok && (m.TrustedLabels[k] == "*" || v == m.TrustedLabels[k]) {
				why += " (the same label supplied by the container's creator does not count)"
			}
		}
		return false, why
	}
	return true, ""
}

// labelsHold says whether every wanted label is in got with the wanted value
// ("*": present). With reason set, a failure says which label (named what)
// and why; otherwise it allocates nothing.
func labelsHold(want, got map[string]string, what string, reason bool) (bool, string) {
	if !reason {
		for k, w := range want {
			if g, ok := got[k]; !ok || (w != "*" && g != w) {
				return false, ""
			}
		}
		return true, ""
	}
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		switch w := want[k]; {
		case !ok:
			return false, fmt.Sprintf("%s %s is missing", what, strconv.Quote(k))
		case w != "*" && g != w:
			return false, fmt.Sprintf("%s %s is %q, not %q", what, strconv.Quote(k), g, w)
		}
	}
	return true, ""
}

// firstMissing returns the first (sorted) key of want that got lacks or
// holds with another value.
func firstMissing(want, got map[string]string) string {
	for _, k := range sortedKeys(want) {
		if g, ok := got[k]; !ok || (want[k] != "*" && g != want[k]) {
			return k
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TenantFor returns the first tenant in file order whose match holds for c,
// or nil when none does. On a Policy from Load or Parse it does not
// allocate, so it can run for every container on every interval. A leading "/" on c.Cgroup is ignored; a
// container with an empty Name matches no tenant that has names globs, and
// a tenant with an empty Match (possible only in a hand-built Policy) takes
// nothing.
func (p *Policy) TenantFor(c Container) *Tenant {
	cg := strings.TrimPrefix(c.Cgroup, "/")
	for i := range p.Tenants {
		if ok, _ := p.failure(i, cg, c, false); ok {
			return &p.Tenants[i]
		}
	}
	return nil
}

// Match returns what TenantFor returns plus a sentence for `quell explain`:
// which globs and labels made the tenant match, or, when no tenant matches
// (nil), why each tenant did not.
func (p *Policy) Match(c Container) (*Tenant, string) {
	cg := strings.TrimPrefix(c.Cgroup, "/")
	var why []string
	for i := range p.Tenants {
		t := &p.Tenants[i]
		ok, fail := p.failure(i, cg, c, true)
		if !ok {
			why = append(why, fmt.Sprintf("tenant %s: %s", t.Name, fail))
			continue
		}
		return t, p.matchReason(i, cg, c)
	}
	desc := fmt.Sprintf("cgroup %q", cg)
	if c.Name != "" {
		desc += fmt.Sprintf(" (name %q)", c.Name)
	}
	if len(why) == 0 {
		return nil, desc + " matches no tenant: the policy has none"
	}
	return nil, desc + " matches no tenant: " + strings.Join(why, "; ")
}

func (p *Policy) matchReason(i int, cg string, c Container) string {
	t := &p.Tenants[i]
	var tm tenantMatcher
	if len(p.matchers) == len(p.Tenants) {
		tm = p.matchers[i]
	}
	var parts []string
	if j := firstGlob(t.Match.Cgroups, tm.cgroups, cg); j >= 0 {
		parts = append(parts, fmt.Sprintf("cgroup %s matches tenant %s glob %q", cg, t.Name, t.Match.Cgroups[j]))
	}
	if j := firstGlob(t.Match.Names, tm.names, c.Name); j >= 0 {
		parts = append(parts, fmt.Sprintf("name %q matches %q", c.Name, t.Match.Names[j]))
	}
	for _, k := range sortedKeys(t.Match.Labels) {
		parts = append(parts, fmt.Sprintf("label %s=%q", k, c.Labels[k]))
	}
	for _, k := range sortedKeys(t.Match.TrustedLabels) {
		parts = append(parts, fmt.Sprintf("trusted label %s=%q (set by the runtime)", k, c.TrustedLabels[k]))
	}
	s := strings.Join(parts, "; ")
	if len(t.Match.Cgroups) == 0 {
		s = "tenant " + t.Name + ": " + s
	}
	return s
}
