package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxDepth bounds the walk; Kubernetes' deepest container is at depth 4
// (kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod….slice/cri-containerd-….scope).
const maxDepth = 8

// MaxContainers caps how many containers one walk reports, so a host (or a
// runaway runtime) with ever more cgroups cannot grow quelld without bound.
// The walk stops there and says so with ErrTooMany.
const MaxContainers = 20000

// ErrTooMany means the walk stopped at MaxContainers; the containers found
// so far are returned with it.
var ErrTooMany = fmt.Errorf("more than %d container cgroups: the rest are not tracked", MaxContainers)

// Walk lists the container cgroups under root (a cgroup v2 mount). It does
// not descend into a container's own cgroup (nested cgroups belong to the
// container), nor into skip (e.g. quelld's own cgroup), nor into a
// delegated directory (see Delegated): nothing in or below one is a
// container, whatever its name. A directory that vanishes during the walk
// is ignored; other errors are returned with the containers found so far,
// and so is ErrTooMany when the walk stopped at MaxContainers.
func Walk(root string, skip func(rel string) bool) ([]Found, error) {
	owner, err := RootOwner(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Found
	var errs []error
	var walk func(rel string, depth int) bool
	walk = func(rel string, depth int) bool {
		dir := filepath.Join(root, rel)
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("list %s: %w", dir, err))
			}
			return true
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			child := e.Name()
			if rel != "" {
				child = rel + "/" + e.Name()
			}
			if skip != nil && skip(child) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("stat %s: %w", filepath.Join(root, child), err))
				}
				continue
			}
			if Delegated(info, owner) {
				continue
			}
			if f, ok := Classify(child); ok {
				if len(out) == MaxContainers {
					errs = append(errs, ErrTooMany)
					return false
				}
				f.Ino = inoOf(info)
				out = append(out, f)
				continue
			}
			if depth+1 < maxDepth && !strings.HasPrefix(e.Name(), ".") {
				if !walk(child, depth+1) {
					return false
				}
			}
		}
		return true
	}
	walk("", 0)
	return out, errors.Join(errs...)
}

// Delegated reports whether a cgroup directory may have been made or be
// managed by someone other than the owner of the cgroup root (root on a
// host): it is owned by another user (systemd's Delegate= for a user's
// user@UID.service, an unprivileged container's own subtree), or others
// than its owner may write to it. Such a directory is never a container,
// nor is anything below it: its owner chooses the names.
func Delegated(info fs.FileInfo, rootOwner uint32) bool {
	uid, ok := ownerOf(info)
	return !ok || uid != rootOwner || info.Mode().Perm()&0o022 != 0
}

// RootOwner is the owner of the cgroup root dir (0 on a host), the one
// user whose directories Walk takes for containers.
func RootOwner(root string) (uint32, error) {
	info, err := os.Stat(root)
	if err != nil {
		return 0, fmt.Errorf("stat cgroup root %s: %w", root, err)
	}
	uid, ok := ownerOf(info)
	if !ok {
		return 0, fmt.Errorf("stat cgroup root %s: no owner", root)
	}
	return uid, nil
}

func ownerOf(info fs.FileInfo) (uint32, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}

func inoOf(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
