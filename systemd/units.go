package systemd

import (
	"context"
	"fmt"
	"strings"

	"github.com/quell-dev/quell/limits"
)

// Units applies limits.Resources to the systemd units that own cgroups,
// through a Manager, so that a `systemctl daemon-reload` keeps them.
// Scopes and services are changed with SetUnitProperties; tenant slices are
// created or updated with EnsureSlice. It is safe for concurrent use when
// its Manager is.
type Units struct {
	m       Manager
	devPath func(major, minor uint32) (string, error)
}

// NewUnits returns Units changing units through m. devicePath names the
// block device of an io.max line (see Properties); on a real host pass
// DevicePaths("/sys", "/dev").
func NewUnits(m Manager, devicePath func(major, minor uint32) (string, error)) *Units {
	return &Units{m: m, devPath: devicePath}
}

// SetUnit applies r to the scope or service owning cgroup cg:
//   - (false, nil) when cg is not a unit of PID 1's (UnitForCgroup) or is a
//     slice: the caller writes cgroupfs itself (slices quell creates are its
//     own);
//   - (true, nil) when the properties were set, or r has nothing to set;
//   - (true, err) when r cannot be expressed as properties (wrapping
//     ErrNotRepresentable or the device error) or SetUnitProperties failed
//     (wrapping ErrNoSuchUnit when the unit is gone).
func (u *Units) SetUnit(ctx context.Context, cg string, r limits.Resources) (bool, error) {
	unit, ok := UnitForCgroup(cg)
	if !ok || strings.HasSuffix(unit, ".slice") {
		return false, nil
	}
	props, err := Properties(r, u.devPath)
	if err != nil {
		return true, fmt.Errorf("properties for %s: %w", unit, err)
	}
	if len(props) == 0 {
		return true, nil
	}
	if err := u.m.SetUnitProperties(ctx, unit, props...); err != nil {
		return true, fmt.Errorf("SetUnitProperties %s: %w", unit, err)
	}
	return true, nil
}

// EnsureSlice makes the slice unit whose cgroup is cg exist, be active and
// carry r (Manager.EnsureSlice). It is an error when cg is not the cgroup
// of a systemd slice, when r cannot be expressed as properties, or when
// systemd refuses.
func (u *Units) EnsureSlice(ctx context.Context, cg string, r limits.Resources) error {
	unit, ok := UnitForCgroup(cg)
	if !ok || !strings.HasSuffix(unit, ".slice") {
		return fmt.Errorf("%s is not a systemd slice path", cg)
	}
	props, err := Properties(r, u.devPath)
	if err != nil {
		return fmt.Errorf("properties for %s: %w", unit, err)
	}
	return u.m.EnsureSlice(ctx, unit, props...)
}
