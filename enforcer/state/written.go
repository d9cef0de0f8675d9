package state

// written.go keeps what quell wrote to the files whose originals it keeps,
// so that reconcile can tell a value the container runtime set later
// (docker update, a Kubernetes in-place resize: the new original) from
// quell's own.

// RecordWritten notes that quell is about to write value to cgroup's file
// (the key an original is kept under). It keeps the value written before
// too: if quelld dies between saving this and the write reaching the
// kernel, the file still holds a value of quell's. It reports whether
// anything changed.
func (s *Store) RecordWritten(cgroup, file, value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d.Written == nil {
		s.d.Written = map[string]map[string][]string{}
	}
	m := s.d.Written[cgroup]
	if m == nil {
		m = map[string][]string{}
		s.d.Written[cgroup] = m
	}
	old := m[file]
	if len(old) > 0 && old[0] == value {
		return false
	}
	vs := []string{value}
	if len(old) > 0 {
		vs = append(vs, old[0])
	}
	m[file] = vs
	s.dirty = true
	return true
}

// Written returns the values quell last wrote to cgroup's file, newest
// first (none when it wrote nothing since the original was kept).
func (s *Store) Written(cgroup, file string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.d.Written[cgroup][file]...)
}

// AdoptOriginal replaces cgroup's file's original with value: the
// container runtime changed the file after quell did, and its new value is
// the one to restore (and the new ceiling). The values quell wrote stay:
// a systemd daemon-reload may still write one of them back, and it is
// still quell's. It reports whether anything changed.
func (s *Store) AdoptOriginal(cgroup, file, value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.d.Originals[cgroup]
	if m == nil {
		m = map[string]string{}
		s.d.Originals[cgroup] = m
	}
	if v, ok := m[file]; ok && v == value {
		return false
	}
	m[file] = value
	s.dirty = true
	return true
}

// forgetWritten drops the values written to cgroup's file; s.mu is held.
func (s *Store) forgetWritten(cgroup, file string) {
	if m := s.d.Written[cgroup]; m != nil {
		if _, ok := m[file]; ok {
			delete(m, file)
			s.dirty = true
		}
		if len(m) == 0 {
			delete(s.d.Written, cgroup)
		}
	}
}
