package labkit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NewCgroup creates the cgroup rel (e.g. "lab/cpu-test") below Root() with
// MakeCgroup and returns its absolute path. At cleanup it kills what runs
// in it and removes every directory it created, deepest first, including
// child cgroups the test made below it.
func NewCgroup(t testing.TB, rel string) string {
	t.Helper()
	dir, created, err := MakeCgroup(Root(), rel)
	if err != nil {
		t.Fatalf("NewCgroup: %v", err)
	}
	t.Cleanup(func() {
		for i := len(created) - 1; i >= 0; i-- {
			if err := RemoveCgroup(created[i]); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return dir
}

// MakeCgroup creates the cgroup rel below root, enabling every available
// controller in each parent's subtree_control on the way, and returns its
// absolute path and the directories it created, shallowest first (the ones
// that existed are not listed: remove only those, with RemoveCgroup). On
// an error it removes what it created. NewCgroup is the form for tests.
func MakeCgroup(root, rel string) (string, []string, error) {
	rel = strings.Trim(rel, "/")
	if rel == "" || strings.Contains(rel, "..") {
		return "", nil, fmt.Errorf("bad cgroup path %q", rel)
	}
	var created []string
	undo := func(err error) (string, []string, error) {
		for i := len(created) - 1; i >= 0; i-- {
			_ = RemoveCgroup(created[i])
		}
		return "", nil, err
	}
	dir := root
	for _, part := range strings.Split(rel, "/") {
		if err := EnableControllers(dir); err != nil {
			return undo(err)
		}
		dir = filepath.Join(dir, part)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			created = append(created, dir)
		} else if !errors.Is(err, fs.ErrExist) {
			return undo(fmt.Errorf("create cgroup %s: %w", dir, err))
		}
	}
	return dir, created, nil
}

// EnableControllers writes "+c" into dir/cgroup.subtree_control for every
// controller in dir/cgroup.controllers that is not yet enabled.
func EnableControllers(dir string) error {
	avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("read controllers of %s: %w", dir, err)
	}
	on, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("read subtree_control of %s: %w", dir, err)
	}
	enabled := strings.Fields(string(on))
	for _, c := range strings.Fields(string(avail)) {
		if contains(enabled, c) {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			return fmt.Errorf("enable %s in %s: %w", c, dir, err)
		}
	}
	return nil
}

// RemoveCgroup kills every process in dir and its descendants (cgroup.kill)
// and removes the cgroups, deepest first. A dir that is already gone is fine.
func RemoveCgroup(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("kill cgroup %s: %w", dir, err)
	}
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	deadline := time.Now().Add(10 * time.Second)
	for i := len(dirs) - 1; i >= 0; i-- {
		for {
			err := os.Remove(dirs[i])
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("remove cgroup %s: %w (procs: %s)", dirs[i], err, ReadFile(filepath.Join(dirs[i], "cgroup.procs")))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// ReadFile returns the trimmed content of path, or "" when unreadable.
func ReadFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// CPUUsage returns usage_usec from dir/cpu.stat.
func CPUUsage(dir string) (time.Duration, error) {
	p := filepath.Join(dir, "cpu.stat")
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		var v int64
		if n, _ := fmt.Sscanf(line, "usage_usec %d", &v); n == 1 {
			return time.Duration(v) * time.Microsecond, nil
		}
	}
	return 0, fmt.Errorf("no usage_usec in %s", p)
}
