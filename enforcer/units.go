package enforcer

import (
	"context"
	"fmt"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/systemd"
)

// unitManager is the part of systemd's D-Bus manager the enforcer uses.
type unitManager interface {
	SetUnitProperties(ctx context.Context, unit string, props ...sddbus.Property) error
	EnsureSlice(ctx context.Context, name string, props ...sddbus.Property) error
}

// systemdUnits changes systemd-owned units (scopes and services) through
// SetUnitProperties, so a `systemctl daemon-reload` keeps quell's limits.
// Slices quell creates are left to cgroupfs (they are quell's own).
type systemdUnits struct {
	m       unitManager
	devPath func(major, minor uint32) (string, error)
}

// SystemdUnits returns the option routing writes on systemd-owned units
// through m.
func SystemdUnits(m unitManager) Option {
	return WithUnits(&systemdUnits{m: m, devPath: systemd.DevicePaths("/sys", "/dev")})
}

func (s *systemdUnits) SetUnit(ctx context.Context, cg string, r limits.Resources) (bool, error) {
	unit, ok := systemd.UnitForCgroup(cg)
	if !ok || strings.HasSuffix(unit, ".slice") {
		return false, nil
	}
	props, err := systemd.Properties(r, s.devPath)
	if err != nil {
		return true, fmt.Errorf("properties for %s: %w", unit, err)
	}
	if len(props) == 0 {
		return true, nil
	}
	if err := s.m.SetUnitProperties(ctx, unit, props...); err != nil {
		return true, fmt.Errorf("SetUnitProperties %s: %w", unit, err)
	}
	return true, nil
}

func (s *systemdUnits) EnsureSlice(ctx context.Context, cg string, r limits.Resources) error {
	unit, ok := systemd.UnitForCgroup(cg)
	if !ok || !strings.HasSuffix(unit, ".slice") {
		return fmt.Errorf("%s is not a systemd slice path", cg)
	}
	props, err := systemd.Properties(r, s.devPath)
	if err != nil {
		return fmt.Errorf("properties for %s: %w", unit, err)
	}
	return s.m.EnsureSlice(ctx, unit, props...)
}
