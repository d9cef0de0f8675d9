package enforcer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/limits/projquota"
)

const diskPolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.%s]
  disk = { bytes = "%s" }
`

func TestDiskPerContainerProjectAssignedOnceAndReleased(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "container", "8MiB"))
	cg, upper := h.runningContainer(idA, "acme-web", 4242)
	q := newFakeQuotas()
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(newFakeShaper()), WithDiskQuotas(q))
	ctx := context.Background()

	e.Tick(ctx)
	want := []string{"allocate container:" + cg, fmt.Sprintf("assign %s 100000 %d", upper, 8<<20)}
	if got := q.log(); !slices.Equal(got, want) {
		t.Fatalf("first tick: %q, want %q", got, want)
	}
	if evs := eventsOf(e, "limit"); len(evs) != 1 || !strings.Contains(evs[0].Reason, "project 100000") {
		t.Fatalf("limit events %+v", evs)
	}
	q.mu.Lock()
	q.used[100000] = 3 << 20
	q.mu.Unlock()
	clock.Add(time.Second)
	e.Tick(ctx)
	if got := q.log(); len(got) != 2 {
		t.Fatalf("re-tick wrote again: %q", got)
	}
	if b := viewOf(e, cg).Usage.DiskBytes; b != 3<<20 {
		t.Fatalf("container DiskBytes %d, want %d", b, 3<<20)
	}
	if b := e.View().Tenants[0].Usage.DiskBytes; b != 3<<20 {
		t.Fatalf("tenant DiskBytes %d, want %d", b, 3<<20)
	}

	// A new limit is assigned again.
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "container", "16MiB"))
	must(t, e.Reload(ctx))
	clock.Add(time.Second)
	e.Tick(ctx)
	if got := q.log(); len(got) != 3 || got[2] != fmt.Sprintf("assign %s 100000 %d", upper, 16<<20) {
		t.Fatalf("after the change: %q", got)
	}

	// Gone: the layer (still there in this fake) is untagged, the limit
	// cleared, the ID freed.
	h.gone(t, cg)
	for range 3 {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	want = []string{"untag " + upper, "clear 100000", "free container:" + cg}
	if got := q.log()[3:]; !slices.Equal(got, want) {
		t.Fatalf("release: %q, want %q", got, want)
	}
	if len(q.ids) != 0 || len(q.tags) != 0 {
		t.Fatalf("left behind: ids %v tags %v", q.ids, q.tags)
	}
}

func TestDiskQuotaOffNothingApplied(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "container", "8MiB"))
	cg, upper := h.runningContainer(idA, "acme-web", 4242)
	q := newFakeQuotas()
	q.off[upper] = fmt.Errorf("%s (xfs): %w: mount it with -o prjquota", upper, projquota.ErrQuotaOff)
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(newFakeShaper()), WithDiskQuotas(q))
	ctx := context.Background()
	for range 4 {
		e.Tick(ctx)
		clock.Add(time.Second)
	}
	if got := q.log(); len(got) != 0 {
		t.Fatalf("quota off, yet: %q", got)
	}
	errs := viewOf(e, cg).Errors
	if len(errs) != 1 || !strings.Contains(errs[0], "project quota is not enabled") || !strings.Contains(errs[0], "prjquota") {
		t.Fatalf("container errors %q", errs)
	}
	if evs := eventsOf(e, "error"); len(evs) != 1 {
		t.Fatalf("%d error events, want 1", len(evs))
	}
	h.gone(t, cg)
	for range 2 {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	if got := q.log(); len(got) != 0 {
		t.Fatalf("nothing was applied, yet release wrote: %q", got)
	}
}

func TestDiskTenantAggregateSharesOneProject(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "limits", "20MiB"))
	cgA, upA := h.runningContainer(idA, "acme-web", 4242)
	cgB, upB := h.runningContainer(idB, "acme-db", 4343)
	q := newFakeQuotas()
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(newFakeShaper()), WithDiskQuotas(q))
	ctx := context.Background()
	e.Tick(ctx)
	if q.tags[upA] != 100000 || q.tags[upB] != 100000 || len(q.ids) != 1 {
		t.Fatalf("tags %v ids %v, want both layers in one tenant project", q.tags, q.ids)
	}
	q.mu.Lock()
	q.used[100000] = 5 << 20
	q.mu.Unlock()
	clock.Add(time.Second)
	e.Tick(ctx)
	if b := e.View().Tenants[0].Usage.DiskBytes; b != 5<<20 {
		t.Fatalf("tenant DiskBytes %d, want the project's %d (not a sum)", b, 5<<20)
	}
	h.gone(t, cgA)
	for range 2 {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	if len(q.cleared) != 0 || q.tags[upB] != 100000 || q.tags[upA] != 0 {
		t.Fatalf("one member gone: cleared %v tags %v; want only its layer untagged", q.cleared, q.tags)
	}
	h.gone(t, cgB)
	for range 2 {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	if !slices.Equal(q.cleared, []uint32{100000}) || len(q.ids) != 0 {
		t.Fatalf("last member gone: cleared %v ids %v", q.cleared, q.ids)
	}
}

func TestDiskTenantAggregateRefusesSecondFilesystem(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "limits", "20MiB"))
	_, upA := h.runningContainer(idA, "acme-a", 4242)
	cgB, upB := h.runningContainer(idB, "acme-b", 4343)
	q := newFakeQuotas()
	q.devs[upB] = 2
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(newFakeShaper()), WithDiskQuotas(q))
	e.Tick(context.Background())
	if q.tags[upA] != 100000 || q.tags[upB] != 0 {
		t.Fatalf("tags %v: want only the first filesystem's layer in the project", q.tags)
	}
	if errs := viewOf(e, cgB).Errors; len(errs) != 1 || !strings.Contains(errs[0], "one project on one filesystem") {
		t.Fatalf("second container's errors %q", errs)
	}
}

func TestDiskDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "container", "8MiB"))
	cg, _ := h.runningContainer(idA, "acme-web", 4242)
	q := newFakeQuotas()
	clock := newClock()
	e := h.enforcerWith(clock, true, WithNetShaper(newFakeShaper()), WithDiskQuotas(q))
	ctx := context.Background()
	e.Tick(ctx)
	clock.Add(time.Second)
	e.Tick(ctx)
	h.gone(t, cg)
	for range 2 {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	if got := q.log(); len(got) != 0 {
		t.Fatalf("dry run wrote %q", got)
	}
	if evs := eventsOf(e, "limit"); len(evs) != 1 || !evs[0].DryRun {
		t.Fatalf("dry-run events %+v", evs)
	}
}

func TestDiskBundleRootfsWhenRootIsNotOverlay(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(diskPolicy, "container", "8MiB"))
	_, _ = h.runningContainer(idA, "acme-web", 4242)
	bundle := filepath.Join(h.root, "bundles", idA)
	h.file("proc/4242/mountinfo", "700 600 254:0 /b/rootfs / rw - xfs /dev/vda rw,prjquota\n")
	h.file("bundles/"+idA+"/config.json", `{"root":{"path":"fs"}}`)
	must(t, os.MkdirAll(filepath.Join(bundle, "fs"), 0o755))
	q := newFakeQuotas()
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(newFakeShaper()), WithDiskQuotas(q))
	e.Tick(context.Background())
	if q.tags[filepath.Join(bundle, "fs")] != 100000 {
		t.Fatalf("tags %v, want the bundle's root.path", q.tags)
	}
}
