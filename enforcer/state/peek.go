package state

import "maps"

// SameOriginals reports whether cgroup's kept originals are exactly m
// (nil or empty for none), without copying them: the loop asks every
// pass whether what it derived from them last time still holds.
func (s *Store) SameOriginals(cgroup string, m map[string]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Equal(s.d.Originals[cgroup], m)
}

// EachOriginal calls fn for each original kept for cgroup, in no order,
// without copying them. fn must not call the Store.
func (s *Store) EachOriginal(cgroup string, fn func(key, value string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.d.Originals[cgroup] {
		fn(k, v)
	}
}
