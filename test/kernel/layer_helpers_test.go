//go:build lab

package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// dockerLayer lays out container id's writable layer as Docker's overlay2
// driver does, with its storage on the quota disk: a directory on xfs under
// sub, bound at /var/lib/docker/overlay2/<mount-id>, recorded in the
// layerdb (image/overlay2/layerdb/mounts/<id>/mount-id) and mounted as an
// overlay at the bundle's rootfs, where labkit's Docker placement runs the
// container. quelld trusts a layer only from the runtime's storage records.
// It returns the upper dir (in the store) and the bundle; everything is
// unmounted and removed at cleanup.
func dockerLayer(t *testing.T, xfs, sub, id string) (upper, bundle string) {
	t.Helper()
	bundle = filepath.Join("/run/containerd/io.containerd.runtime.v2.task/moby", id)
	layer := filepath.Join(xfs, sub, id[:12])
	store := filepath.Join("/var/lib/docker/overlay2", id[:12])
	mountID := filepath.Join("/var/lib/docker/image/overlay2/layerdb/mounts", id)
	for _, d := range []string{layer, store, mountID} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount(layer, store, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s at %s: %v", layer, store, err)
	}
	if err := os.WriteFile(filepath.Join(mountID, "mount-id"), []byte(id[:12]), 0o644); err != nil {
		t.Fatal(err)
	}
	lower, work := filepath.Join(store, "lower"), filepath.Join(store, "work")
	upper = filepath.Join(store, "diff")
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{lower, upper, work, rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount("overlay", rootfs, "overlay", 0,
		fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)); err != nil {
		t.Fatalf("mount overlay rootfs: %v", err)
	}
	t.Cleanup(func() {
		_ = unix.Unmount(rootfs, unix.MNT_DETACH)
		_ = unix.Unmount(store, unix.MNT_DETACH)
		os.RemoveAll(layer)
		os.Remove(store)
		os.RemoveAll(mountID)
	})
	return upper, bundle
}
