package enforcer

import "sort"

// sortedKnown is e.known's cgroups in order. Several steps of a pass walk
// the containers in order (publish, network, disk quotas, ulimits); the
// order is kept between passes and made again only when the set changed
// (checked by a lookup per cgroup: sorting 1,000 paths five times a pass
// was 5% of an idle pass). Callers must not modify the slice.
func (e *Enforcer) sortedKnown() []string {
	if k := e.knownOrder; len(k) == len(e.known) && k != nil {
		same := true
		for _, cg := range k {
			if _, ok := e.known[cg]; !ok {
				same = false
				break
			}
		}
		if same {
			return k
		}
	}
	k := make([]string, 0, len(e.known))
	for cg := range e.known {
		k = append(k, cg)
	}
	sort.Strings(k)
	e.knownOrder = k
	return k
}
