package enforcer

import (
	"reflect"

	"github.com/quell-dev/quell/enforcer/view"
)

// publishMemo is what publish derived from a container's limits and
// labels last pass, and what it derived them from: the view's Limits,
// Set and Labels are read-only once published, so while their sources
// are the same maps holding the same originals, the next view shares
// them instead of building them again.
type publishMemo struct {
	ok               bool
	why, by, vals    map[string]string // e.applied's, by identity
	orig             map[string]string // the store's originals, by content
	labelsOf, labels map[string]string // t.c.Labels (identity) and its copy
	limits           []view.Limit
	set              view.ContainerLimits
}

// publishLimits fills cv's Labels, Limits and Set for t.
func (e *Enforcer) publishLimits(t *tracked, cv *view.ContainerView) {
	m := &t.pub
	if t.c.Labels != nil {
		if !sameMap(m.labelsOf, t.c.Labels) || m.labels == nil {
			m.labelsOf, m.labels = t.c.Labels, copyMap(t.c.Labels)
		}
		cv.Labels = m.labels
	}
	cg := t.c.Cgroup
	a := e.applied[cg]
	if len(t.ulimits) == 0 && m.ok && sameMap(m.why, a.why) && sameMap(m.by, a.by) && sameMap(m.vals, a.values) &&
		e.store.SameOriginals(cg, m.orig) {
		cv.Limits, cv.Set = m.limits, m.set
		return
	}
	ls, stored, fromPass := e.limitsRead(cg)
	cv.Limits = append(ls, t.ulimits...)
	cv.Set = setOf(cv.Limits)
	m.ok = fromPass && len(t.ulimits) == 0
	m.why, m.by, m.vals, m.orig, m.limits, m.set = a.why, a.by, a.values, stored, cv.Limits, cv.Set
}

// sameMap reports whether a and b are the same map (not only equal).
func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
