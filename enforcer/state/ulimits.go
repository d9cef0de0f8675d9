package state

import "sort"

// Ulimit is one resource limit quell sets on a container's processes
// (prlimit): the container's original, as its init process had it when
// quell first saw it, and the value quell sets. Limits are as the kernel
// has them; RLIM_INFINITY is 1<<64-1.
type Ulimit struct {
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
	WantSoft uint64 `json:"want_soft"`
	WantHard uint64 `json:"want_hard"`
}

// RecordUlimit keeps u for cgroup's resource. The original (Soft, Hard)
// of a resource already kept stays: the first seen is the original; the
// wanted value is replaced. It reports whether anything changed.
func (s *Store) RecordUlimit(cgroup, resource string, u Ulimit) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d.Ulimits == nil {
		s.d.Ulimits = map[string]map[string]Ulimit{}
	}
	m := s.d.Ulimits[cgroup]
	if m == nil {
		m = map[string]Ulimit{}
		s.d.Ulimits[cgroup] = m
	}
	if old, ok := m[resource]; ok {
		u.Soft, u.Hard = old.Soft, old.Hard
		if old == u {
			return false
		}
	}
	m[resource] = u
	s.dirty = true
	return true
}

// Ulimits returns a copy of cgroup's kept ulimits, by resource.
func (s *Store) Ulimits(cgroup string) map[string]Ulimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Ulimit, len(s.d.Ulimits[cgroup]))
	for k, v := range s.d.Ulimits[cgroup] {
		out[k] = v
	}
	return out
}

// UlimitCgroups lists the cgroups with kept ulimits, sorted.
func (s *Store) UlimitCgroups() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.d.Ulimits))
	for k := range s.d.Ulimits {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ForgetUlimit drops cgroup's resource (every resource when resource is
// ""), after it was restored or its cgroup is gone.
func (s *Store) ForgetUlimit(cgroup, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.d.Ulimits[cgroup]
	if !ok {
		return
	}
	if resource == "" {
		delete(s.d.Ulimits, cgroup)
		s.dirty = true
		return
	}
	if _, ok := m[resource]; ok {
		delete(m, resource)
		s.dirty = true
	}
	if len(m) == 0 {
		delete(s.d.Ulimits, cgroup)
	}
}
