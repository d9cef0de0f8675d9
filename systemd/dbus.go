package systemd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// Manager changes systemd units' resource properties. Changes are runtime
// only (they live under /run/systemd/system.control and end at reboot),
// survive `systemctl daemon-reload`, and take effect in cgroupfs at once.
type Manager interface {
	// SetUnitProperties sets props on unit. An error wraps ErrNoSuchUnit
	// when the unit does not exist (a container that just went away); it
	// also fails for a property the unit type does not have or a value
	// systemd rejects.
	SetUnitProperties(ctx context.Context, unit string, props ...sddbus.Property) error
	// EnsureSlice makes slice unit name exist and be active with props:
	// it starts a transient slice, or, when the slice already exists,
	// sets props on it and starts it. name must end in ".slice"; its cgroup
	// is SliceCgroup(name).
	EnsureSlice(ctx context.Context, name string, props ...sddbus.Property) error
}

var _ Manager = (*DBusManager)(nil)

// DBusManager is the Manager over PID 1's D-Bus API.
type DBusManager struct {
	conn *sddbus.Conn
}

// Connect connects to systemd over the system bus, falling back to
// systemd's private socket when running as root and the bus is down.
func Connect(ctx context.Context) (*DBusManager, error) {
	conn, err := sddbus.NewWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to systemd: %w", err)
	}
	return &DBusManager{conn: conn}, nil
}

// Close closes the connection.
func (m *DBusManager) Close() { m.conn.Close() }

// ErrNoSuchUnit means systemd has no unit of that name.
var ErrNoSuchUnit = errors.New("no such unit")

// SetUnitProperties implements Manager with runtime=true.
func (m *DBusManager) SetUnitProperties(ctx context.Context, unit string, props ...sddbus.Property) error {
	err := m.conn.SetUnitPropertiesContext(ctx, unit, true, props...)
	switch {
	case err == nil:
		return nil
	case isDBusError(err, errNoSuchUnit):
		return fmt.Errorf("set properties of %s: %w (%w)", unit, ErrNoSuchUnit, err)
	}
	return fmt.Errorf("set properties of %s: %w", unit, err)
}

// systemd's D-Bus error names (src/libsystemd/sd-bus/bus-common-errors.h).
const (
	errUnitExists = "org.freedesktop.systemd1.UnitExists"
	errNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit"
)

// EnsureSlice implements Manager.
func (m *DBusManager) EnsureSlice(ctx context.Context, name string, props ...sddbus.Property) error {
	if !strings.HasSuffix(name, ".slice") || !validUnitName(name) || name == "-.slice" {
		return fmt.Errorf("ensure slice %q: not a slice unit name", name)
	}
	all := append([]sddbus.Property{sddbus.PropDescription("quell tenant slice " + name)}, props...)
	err := m.runJob(ctx, name, func(ch chan<- string) (int, error) {
		return m.conn.StartTransientUnitContext(ctx, name, "replace", all, ch)
	})
	if !isDBusError(err, errUnitExists) {
		if err != nil {
			return fmt.Errorf("ensure slice %s: %w", name, err)
		}
		return nil
	}
	// It exists already (an earlier quelld, or a unit file): update it.
	if err := m.SetUnitProperties(ctx, name, props...); err != nil {
		return fmt.Errorf("ensure slice: %w", err)
	}
	err = m.runJob(ctx, name, func(ch chan<- string) (int, error) {
		return m.conn.StartUnitContext(ctx, name, "replace", ch)
	})
	if err != nil {
		return fmt.Errorf("ensure slice %s: %w", name, err)
	}
	return nil
}

// runJob starts a job and waits for its result. The channel is buffered so
// go-systemd's signal dispatcher never blocks on it even when ctx ends first
// (coreos/go-systemd#429).
func (m *DBusManager) runJob(ctx context.Context, unit string, start func(ch chan<- string) (int, error)) error {
	ch := make(chan string, 1)
	if _, err := start(ch); err != nil {
		return err
	}
	select {
	case result := <-ch:
		if result != "done" {
			return fmt.Errorf("job for %s: %s", unit, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("job for %s: %w", unit, ctx.Err())
	}
}

// isDBusError reports whether err is the D-Bus error called name. godbus
// returns call errors as Error values, NewError as *Error: accept both.
func isDBusError(err error, name string) bool {
	var v godbus.Error
	if errors.As(err, &v) {
		return v.Name == name
	}
	var p *godbus.Error
	return errors.As(err, &p) && p.Name == name
}
