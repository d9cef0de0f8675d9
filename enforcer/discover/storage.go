package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// storageName is what a layer's or mount's directory name in a runtime's
// storage may look like (Docker's mount IDs and containers/storage layer
// IDs are 64 hex digits); anything else (a "/", "..") is refused.
var storageName = regexp.MustCompile(`^[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}$`)

// StorageLayer returns the writable layer of container f as its runtime's
// own storage records it:
// (Docker and Containers as the engines' configuration moved them: see
// resolved):
//   - Docker (overlay2): <Docker>/image/overlay2/layerdb/mounts/<id>/mount-id
//     names <Docker>/overlay2/<mount-id>/diff;
//   - podman (containers/storage, overlay): <Containers>/overlay-containers/containers.json
//     gives the container's layer, <Containers>/overlay/<layer>/diff.
//
// The directory must exist and be a directory, not a symlink. An error
// wrapping fs.ErrNotExist means the runtime's storage holds no record of f
// (another storage driver, another runtime, a container made by hand).
func (r Roots) StorageLayer(f Found) (string, error) {
	r = r.resolved()
	switch {
	case f.Runtime == "docker" && r.Docker != "":
		p := filepath.Join(r.Docker, "image/overlay2/layerdb/mounts", f.ID, "mount-id")
		b, err := readCapped(p)
		if err != nil {
			return "", err
		}
		id := strings.TrimSpace(string(b))
		if !storageName.MatchString(id) {
			return "", fmt.Errorf("%s: bad mount ID %q", p, id)
		}
		return layerDir(filepath.Join(r.Docker, "overlay2", id, "diff"))
	case f.Runtime == "podman" && r.Containers != "":
		p := filepath.Join(r.Containers, "overlay-containers/containers.json")
		b, err := readCapped(p)
		if err != nil {
			return "", err
		}
		var cs []struct {
			ID    string `json:"id"`
			Layer string `json:"layer"`
		}
		if err := json.Unmarshal(b, &cs); err != nil {
			return "", fmt.Errorf("parse %s: %w", p, err)
		}
		for _, c := range cs {
			if c.ID != f.ID {
				continue
			}
			if !storageName.MatchString(c.Layer) {
				return "", fmt.Errorf("%s: container %s: bad layer ID %q", p, f.ID, c.Layer)
			}
			return layerDir(filepath.Join(r.Containers, "overlay", c.Layer, "diff"))
		}
		return "", fmt.Errorf("%s: no container %s: %w", p, f.ID, fs.ErrNotExist)
	}
	return "", fmt.Errorf("%s container %s: no storage metadata read: %w", f.Runtime, f.ID, fs.ErrNotExist)
}

func layerDir(p string) (string, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("writable layer: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("writable layer %s is not a directory", p)
	}
	return p, nil
}

// storageRoots are the directories a container's overlay upperdir may be
// in: each runtime's own layer store.
func (r Roots) storageRoots() []string {
	var roots []string
	if r.Docker != "" {
		roots = append(roots, filepath.Join(r.Docker, "overlay2"))
	}
	if r.Containers != "" {
		roots = append(roots, filepath.Join(r.Containers, "overlay"))
	}
	if r.Containerd != "" {
		roots = append(roots, filepath.Join(r.Containerd, "io.containerd.snapshotter.v1.overlayfs/snapshots"))
	}
	return roots
}

// ErrLayerOutside means the overlay upperdir a container's mount table
// shows is outside every runtime's layer store: the table is the
// container's own (its init may have mounted a root of its choosing), so
// its paths are not followed on the host.
var ErrLayerOutside = errors.New("writable layer outside the runtimes' storage")

// Layer finds container f's writable layer, the directory its disk project
// tags: first from its runtime's storage metadata (StorageLayer); when the
// runtime keeps none, from the overlay mounted at "/" in its init's mount
// namespace (WritableLayer), whose upperdir must then lie below a
// runtime's layer store (<Docker>/overlay2, <Containers>/overlay,
// containerd's overlayfs snapshots), else the error wraps ErrLayerOutside;
// and without an overlay root, the OCI bundle's rootfs (the bundle comes
// from runtime state).
func (r Roots) Layer(f Found, procRoot string, pid int, bundle string) (string, error) {
	r = r.resolved()
	layer, err := r.StorageLayer(f)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return layer, err
	}
	upper, err := mountUpper(procRoot, pid)
	if err != nil {
		return "", err
	}
	if upper == "" {
		return WritableLayer(procRoot, 0, bundle)
	}
	clean := filepath.Clean(upper)
	for _, root := range r.storageRoots() {
		if strings.HasPrefix(clean, filepath.Clean(root)+"/") {
			return clean, nil
		}
	}
	return "", fmt.Errorf("overlay upperdir %s of PID %d: %w (%s)", upper, pid, ErrLayerOutside, strings.Join(r.storageRoots(), ", "))
}
