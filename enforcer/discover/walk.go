package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxDepth bounds the walk; Kubernetes' deepest container is at depth 4
// (kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod….slice/cri-containerd-….scope).
const maxDepth = 8

// Walk lists the container cgroups under root (a cgroup v2 mount). It does
// not descend into a container's own cgroup (nested cgroups belong to the
// container), nor into skip (e.g. quelld's own cgroup). A directory that
// vanishes during the walk is ignored; other errors are returned with the
// containers found so far.
func Walk(root string, skip func(rel string) bool) ([]Found, error) {
	var out []Found
	var errs []error
	var walk func(rel string, depth int)
	walk = func(rel string, depth int) {
		dir := filepath.Join(root, rel)
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("list %s: %w", dir, err))
			}
			return
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
			if f, ok := Classify(child); ok {
				out = append(out, f)
				continue
			}
			if depth+1 < maxDepth && !strings.HasPrefix(e.Name(), ".") {
				walk(child, depth+1)
			}
		}
	}
	walk("", 0)
	return out, errors.Join(errs...)
}
