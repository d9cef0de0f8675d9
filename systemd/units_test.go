package systemd

import (
	"context"
	"errors"
	"testing"

	"github.com/quell-dev/quell/limits"
)

// A container scope gets its limits as unit properties; a slice, a
// cgroupfs-driver path and a delegated subtree are left to cgroupfs; a
// tenant slice is created through EnsureSlice.
func TestUnitsRouteByOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	scope := "docker-abc.scope"
	f := NewFakeManager(scope)
	u := NewUnits(f, fakeDevices)
	r := limits.Resources{MemoryMax: i64(64 << 20)}

	ok, err := u.SetUnit(ctx, "system.slice/"+scope, r)
	if !ok || err != nil {
		t.Fatalf("SetUnit on a scope = %v, %v; want true, nil", ok, err)
	}
	if v, _ := f.Property(scope, "MemoryMax"); v != uint64(64<<20) {
		t.Errorf("MemoryMax = %v, want %d", v, 64<<20)
	}
	calls := f.Calls()
	for _, cg := range []string{"quell.slice/quell-acme.slice", "docker/abc", "user.slice/user-1000.slice/user@1000.service/app.slice/x.scope"} {
		if ok, err := u.SetUnit(ctx, cg, r); ok || err != nil {
			t.Errorf("SetUnit(%s) = %v, %v; want false, nil (cgroupfs)", cg, ok, err)
		}
	}
	if f.Calls() != calls {
		t.Errorf("systemd was called for cgroups it does not own")
	}
	if ok, err := u.SetUnit(ctx, "system.slice/gone.scope", r); !ok || !errors.Is(err, ErrNoSuchUnit) {
		t.Errorf("SetUnit on a gone scope = %v, %v; want true, ErrNoSuchUnit", ok, err)
	}
	if ok, err := u.SetUnit(ctx, "system.slice/"+scope, limits.Resources{PidsMax: i64(0)}); !ok || !errors.Is(err, ErrNotRepresentable) {
		t.Errorf("SetUnit with TasksMax=0 = %v, %v; want true, ErrNotRepresentable", ok, err)
	}

	if err := u.EnsureSlice(ctx, "quell.slice/quell-acme.slice", r); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Property("quell-acme.slice", "MemoryMax"); v != uint64(64<<20) {
		t.Errorf("slice MemoryMax = %v, want %d", v, 64<<20)
	}
	if err := u.EnsureSlice(ctx, "system.slice/"+scope, r); err == nil {
		t.Error("EnsureSlice on a scope = nil, want an error")
	}
}
