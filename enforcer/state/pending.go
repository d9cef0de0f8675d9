package state

import (
	"reflect"

	"github.com/quell-dev/quell/enforcer/detect"
)

// SetThaws replaces the thaws not yet confirmed.
func (s *Store) SetThaws(ts []Thaw) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d.Thaws) == 0 && len(ts) == 0 || reflect.DeepEqual(s.d.Thaws, ts) {
		return
	}
	s.d.Thaws = append([]Thaw(nil), ts...)
	s.dirty = true
}

// Thaws returns a copy of the thaws not yet confirmed.
func (s *Store) Thaws() []Thaw {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Thaw(nil), s.d.Thaws...)
}

// SetQuarantines replaces the quarantine list.
func (s *Store) SetQuarantines(qs []detect.Quarantine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d.Quarantine) == 0 && len(qs) == 0 || reflect.DeepEqual(s.d.Quarantine, qs) {
		return
	}
	s.d.Quarantine = append([]detect.Quarantine(nil), qs...)
	s.dirty = true
}

// Quarantines returns a copy of the quarantine list.
func (s *Store) Quarantines() []detect.Quarantine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]detect.Quarantine(nil), s.d.Quarantine...)
}
