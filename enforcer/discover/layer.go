package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/quell-dev/quell/limits/projquota"
)

// ErrNoLayer means neither the container's root mount nor its bundle tells
// where its writable layer is.
var ErrNoLayer = errors.New("writable layer not found")

// WritableLayer finds the directory that holds what container writes to
// its root: the upperdir of the overlay mounted at "/" in its mount
// namespace (read from procRoot/<pid>/mountinfo), else the OCI bundle's
// rootfs (config.json root.path, relative to the bundle; "rootfs" when
// config.json has none). An overlay root without an upperdir (read-only) has
// no writable layer. When neither tells, the error wraps ErrNoLayer and says
// why each was no use; a mountinfo that cannot be parsed is an error naming
// the file.
func WritableLayer(procRoot string, pid int, bundle string) (string, error) {
	var why []string
	if pid > 0 {
		upper, err := mountUpper(procRoot, pid)
		if err != nil {
			return "", err
		}
		if upper != "" {
			return upper, nil
		}
		why = append(why, "root of PID "+strconv.Itoa(pid)+" is not an overlay or not readable")
	}
	if bundle != "" {
		root, err := bundleRootfs(bundle)
		if err == nil {
			return root, nil
		}
		why = append(why, err.Error())
	} else {
		why = append(why, "no OCI bundle known")
	}
	return "", fmt.Errorf("%w: %s", ErrNoLayer, strings.Join(why, "; "))
}

// mountUpper returns the upperdir of the overlay mounted at "/" in
// procRoot/<pid>/mountinfo: "" (no error) when pid is 0, the file cannot
// be opened or the root is not an overlay; an error wrapping ErrNoLayer
// for an overlay root without upperdir, and a parse error naming the file.
func mountUpper(procRoot string, pid int) (string, error) {
	if pid <= 0 {
		return "", nil
	}
	p := filepath.Join(procRoot, strconv.Itoa(pid), "mountinfo")
	f, err := os.Open(p)
	if err != nil {
		return "", nil
	}
	defer f.Close()
	upper, overlay, err := parseRootUpperdir(f)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: %w", p, err)
	case overlay && upper == "":
		return "", fmt.Errorf("root of %s is an overlay without upperdir: %w", p, ErrNoLayer)
	}
	return upper, nil
}

// parseRootUpperdir reads a mountinfo file and returns the upperdir of the
// topmost mount at "/" if that is an overlay (overlay true, upper possibly
// ""), or overlay false if the root is something else. Malformed lines are
// errors naming their number.
func parseRootUpperdir(r io.Reader) (upper string, overlay bool, err error) {
	entries, err := projquota.ParseMountinfo(r)
	if err != nil {
		return "", false, err
	}
	found := false
	for _, m := range entries { // later entries are mounted on top of earlier ones
		if m.MountPoint != "/" {
			continue
		}
		found = true
		upper, overlay = "", m.FSType == "overlay"
		if overlay {
			upper, _ = m.Option("upperdir")
		}
	}
	if !found {
		return "", false, errors.New("no mount at /")
	}
	if upper != "" && !filepath.IsAbs(upper) {
		return "", true, fmt.Errorf("overlay upperdir %q is not absolute", upper)
	}
	return upper, overlay, nil
}

// bundleRootfs returns the rootfs of the OCI bundle: root.path of its
// config.json (relative paths are relative to the bundle), or
// <bundle>/rootfs if config.json is absent or names no root. The directory
// must exist.
func bundleRootfs(bundle string) (string, error) {
	root := "rootfs"
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	switch {
	case err == nil:
		var cfg struct {
			Root *struct {
				Path string `json:"path"`
			} `json:"root"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return "", fmt.Errorf("parse %s: %w", filepath.Join(bundle, "config.json"), err)
		}
		if cfg.Root != nil && cfg.Root.Path != "" {
			root = cfg.Root.Path
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	if !filepath.IsAbs(root) {
		root = filepath.Join(bundle, root)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("bundle rootfs: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("bundle rootfs %s is not a directory", root)
	}
	return root, nil
}
