package systemd

import (
	"context"
	"errors"
	"testing"

	godbus "github.com/godbus/dbus/v5"

	"github.com/quell-dev/quell/limits"
)

func TestFakeManagerKeepsLastValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	unit := "docker-abc.scope"
	f := NewFakeManager(unit)
	props, err := Properties(limits.Resources{MemoryMax: i64(64 << 20), PidsMax: i64(50)}, fakeDevices)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetUnitProperties(ctx, unit, props...); err != nil {
		t.Fatal(err)
	}
	props, _ = Properties(limits.Resources{MemoryMax: i64(limits.Max)}, fakeDevices)
	if err := f.SetUnitProperties(ctx, unit, props...); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Property(unit, "MemoryMax"); v != Infinity {
		t.Errorf("MemoryMax = %v, want Infinity after lifting it", v)
	}
	if v, _ := f.Property(unit, "TasksMax"); v != uint64(50) {
		t.Errorf("TasksMax = %v, want 50 kept", v)
	}
	if err := f.SetUnitProperties(ctx, "gone.scope", props...); !errors.Is(err, ErrNoSuchUnit) {
		t.Errorf("SetUnitProperties on an unknown unit = %v, want ErrNoSuchUnit", err)
	}
	if err := f.EnsureSlice(ctx, "quell-acme.slice", props...); err != nil {
		t.Fatal(err)
	}
	if err := f.EnsureSlice(ctx, "quell-acme.scope"); err == nil {
		t.Error("EnsureSlice of a scope = nil, want an error")
	}
	f.Err = errors.New("bus down")
	if err := f.SetUnitProperties(ctx, unit); !errors.Is(err, f.Err) {
		t.Errorf("with Err set: %v", err)
	}
	if f.Calls() != 6 {
		t.Errorf("Calls = %d, want 6", f.Calls())
	}
}

func TestIsDBusError(t *testing.T) {
	t.Parallel()
	exists := godbus.Error{Name: errUnitExists}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{exists, true},
		{godbus.NewError(errUnitExists, nil), true},
		{godbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied"}, false},
		{errors.New(errUnitExists), false},
		{nil, false},
	} {
		if got := isDBusError(tt.err, errUnitExists); got != tt.want {
			t.Errorf("isDBusError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
