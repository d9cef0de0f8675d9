package systemd

import (
	"context"
	"fmt"
	"strings"
	"sync"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
)

var _ Manager = (*FakeManager)(nil)

// FakeManager is an in-memory Manager for tests. It keeps the last value of
// every property per unit, as systemd does, and counts calls. Units must be
// added with AddUnit (or created by EnsureSlice) before properties can be
// set, like loaded units in systemd. Safe for concurrent use.
type FakeManager struct {
	mu    sync.Mutex
	units map[string]map[string]any
	calls int
	// Err, when set, is returned by every call (and nothing is recorded).
	Err error
}

// NewFakeManager returns a FakeManager knowing the given units.
func NewFakeManager(units ...string) *FakeManager {
	f := &FakeManager{units: map[string]map[string]any{}}
	for _, u := range units {
		f.AddUnit(u)
	}
	return f
}

// AddUnit makes unit known, with no properties.
func (f *FakeManager) AddUnit(unit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.units[unit] == nil {
		f.units[unit] = map[string]any{}
	}
}

// SetUnitProperties implements Manager.
func (f *FakeManager) SetUnitProperties(_ context.Context, unit string, props ...sddbus.Property) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.Err != nil {
		return f.Err
	}
	u, ok := f.units[unit]
	if !ok {
		return fmt.Errorf("set properties of %s: %w", unit, ErrNoSuchUnit)
	}
	for _, p := range props {
		u[p.Name] = p.Value.Value()
	}
	return nil
}

// EnsureSlice implements Manager.
func (f *FakeManager) EnsureSlice(_ context.Context, name string, props ...sddbus.Property) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.Err != nil {
		return f.Err
	}
	if !strings.HasSuffix(name, ".slice") || !validUnitName(name) || name == "-.slice" {
		return fmt.Errorf("ensure slice %q: not a slice unit name", name)
	}
	u, ok := f.units[name]
	if !ok {
		u = map[string]any{}
		f.units[name] = u
	}
	for _, p := range props {
		u[p.Name] = p.Value.Value()
	}
	return nil
}

// Property returns the last value set for property name of unit.
func (f *FakeManager) Property(unit, name string) (any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.units[unit][name]
	return v, ok
}

// Units lists the known units, in no particular order.
func (f *FakeManager) Units() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for u := range f.units {
		out = append(out, u)
	}
	return out
}

// Calls is how many Manager calls were made.
func (f *FakeManager) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}
