package limits

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// EnableControllers makes the named controllers ("cpu", "memory", "io",
// "pids", "cpuset"…) available in cg by writing "+name" to
// cgroup.subtree_control of every ancestor of cg, from the root down to
// cg's parent, skipping those where it is already enabled. cg's own
// subtree_control is not touched. cg itself must be writable (not the
// root, init.scope or quelld's own cgroup; ErrUnsafe otherwise); its
// ancestors' subtree_control, including the root's, are written as the
// kernel requires. Errors name the cgroup and controller: a controller the
// parent does not offer gives ENOENT/EINVAL, an ancestor holding processes
// (the "no internal processes" rule) gives EBUSY; ErrGone if an ancestor
// is missing. Controllers enabled before an error stay enabled.
func (f *FS) EnableControllers(cg string, controllers ...string) error {
	if _, err := f.writable(cg); err != nil && !errors.Is(err, ErrGone) {
		return err
	}
	c, _ := clean(cg)
	parts := strings.Split(c, "/")
	for i := range parts {
		anc := strings.Join(parts[:i], "/")
		d, err := f.dir(anc)
		if err != nil {
			return fmt.Errorf("enable controllers for %s: %w", cg, err)
		}
		b, err := readFile(d, "cgroup.subtree_control")
		if err != nil {
			return fmt.Errorf("enable controllers for %s: %w", cg, err)
		}
		have := strings.Fields(string(b))
		for _, ctl := range controllers {
			if ctl == "" || strings.ContainsAny(ctl, " +-\n") {
				return fmt.Errorf("enable controllers for %s: bad controller name %q: %w", cg, ctl, ErrSyntax)
			}
			if slices.Contains(have, ctl) {
				continue
			}
			if err := writeFile(d, "cgroup.subtree_control", "+"+ctl); err != nil {
				return fmt.Errorf("enable %s in /%s for %s: %w", ctl, anc, cg, err)
			}
		}
	}
	return nil
}

// Mkdir creates cgroup cg (e.g. "quell.slice/quell-acme.slice") and any
// missing parents, then enables the given controllers along the path with
// EnableControllers so that cg has their files. An existing cgroup is not
// an error; with no controllers only the directories are made. Refuses
// (ErrUnsafe) the root, init.scope, quelld's own cgroup and anything
// outside the root.
func (f *FS) Mkdir(cg string, controllers ...string) error {
	if _, err := f.writable(cg); err != nil && !errors.Is(err, ErrGone) {
		return err
	}
	c, _ := clean(cg)
	parts := strings.Split(c, "/")
	for i, part := range parts {
		// Resolve the parent each time so a symlink on the way cannot lead
		// the next mkdir outside the root.
		parent, err := f.dir(strings.Join(parts[:i], "/"))
		if err != nil {
			return fmt.Errorf("mkdir cgroup %s: %w", cg, err)
		}
		if err := os.Mkdir(filepath.Join(parent, part), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("mkdir cgroup %s: %w", cg, err)
		}
	}
	if _, err := f.writable(cg); err != nil {
		return err
	}
	if len(controllers) == 0 {
		return nil
	}
	return f.EnableControllers(cg, controllers...)
}
