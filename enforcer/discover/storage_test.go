package discover

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLayerTrustsTheRuntimesStorageNotTheContainersMounts: the writable
// layer comes from the runtime's storage records; a mount table (the
// container's own) is followed only into a runtime's layer store.
func TestLayerTrustsTheRuntimesStorageNotTheContainersMounts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Docker: filepath.Join(dir, "docker"), Containers: filepath.Join(dir, "storage"), Containerd: filepath.Join(dir, "containerd")}
	proc := filepath.Join(dir, "proc")
	mountinfo := func(pid, upper string) {
		writeFile(t, filepath.Join(proc, pid, "mountinfo"),
			"1 0 0:1 / / rw - overlay overlay rw,lowerdir=/l,upperdir="+upper+",workdir=/w\n")
	}
	// Docker: mount-id names the layer, whatever the mount table says.
	dockerUpper := filepath.Join(r.Docker, "overlay2/m0un7/diff")
	mkdirs(t, dir, "docker/overlay2/m0un7/diff", "host-etc")
	writeFile(t, filepath.Join(r.Docker, "image/overlay2/layerdb/mounts", idA, "mount-id"), "m0un7")
	mountinfo("10", filepath.Join(dir, "host-etc"))
	if got, err := r.Layer(Found{ID: idA, Runtime: "docker"}, proc, 10, ""); err != nil || got != dockerUpper {
		t.Errorf("docker: Layer = %q, %v; want %s from mount-id", got, err, dockerUpper)
	}
	// podman: containers.json names the layer.
	mkdirs(t, dir, "storage/overlay/l4yer/diff")
	writeFile(t, filepath.Join(r.Containers, "overlay-containers/containers.json"), `[{"id":"`+idC+`","layer":"l4yer"}]`)
	if got, err := r.Layer(Found{ID: idC, Runtime: "podman"}, proc, 10, ""); err != nil || got != filepath.Join(r.Containers, "overlay/l4yer/diff") {
		t.Errorf("podman: Layer = %q, %v", got, err)
	}
	// No storage record: the mount table's upperdir only inside a layer store.
	mountinfo("11", filepath.Join(dir, "host-etc"))
	if got, err := r.Layer(Found{ID: idB, Runtime: "containerd"}, proc, 11, ""); !errors.Is(err, ErrLayerOutside) {
		t.Errorf("upperdir outside: Layer = %q, %v; want ErrLayerOutside", got, err)
	}
	mountinfo("12", filepath.Join(r.Containerd, "io.containerd.snapshotter.v1.overlayfs/snapshots/7/../../../../host-etc"))
	if got, err := r.Layer(Found{ID: idB, Runtime: "containerd"}, proc, 12, ""); !errors.Is(err, ErrLayerOutside) {
		t.Errorf("upperdir climbing out with ..: Layer = %q, %v; want ErrLayerOutside", got, err)
	}
	snap := filepath.Join(r.Containerd, "io.containerd.snapshotter.v1.overlayfs/snapshots/7/fs")
	mountinfo("13", snap)
	if got, err := r.Layer(Found{ID: idB, Runtime: "containerd"}, proc, 13, ""); err != nil || got != snap {
		t.Errorf("containerd snapshot: Layer = %q, %v; want %s", got, err, snap)
	}
	// A bad record is an error, not a path.
	writeFile(t, filepath.Join(r.Docker, "image/overlay2/layerdb/mounts", idD, "mount-id"), "../../../host-etc")
	if got, err := r.Layer(Found{ID: idD, Runtime: "docker"}, proc, 10, ""); err == nil {
		t.Errorf("mount-id with ..: Layer = %q, want an error", got)
	}
	// A symlinked layer dir is refused.
	mkdirs(t, dir, "docker/overlay2/link")
	if err := os.Remove(filepath.Join(r.Docker, "overlay2/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "host-etc"), filepath.Join(r.Docker, "overlay2/link")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.Docker, "image/overlay2/layerdb/mounts", idB, "mount-id"), "link")
	if err := os.Symlink(filepath.Join(dir, "host-etc"), filepath.Join(dir, "host-etc", "diff")); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Layer(Found{ID: idB, Runtime: "docker"}, proc, 10, ""); err == nil {
		t.Errorf("symlinked layer: Layer = %q, want an error", got)
	}
}
