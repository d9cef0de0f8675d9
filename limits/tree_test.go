package limits

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestEnableControllersAndMkdir(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		"cgroup.subtree_control": "cpu memory",
		"cgroup.controllers":     "cpu io memory pids",
	})
	f := NewFS(root)
	tenant := "quell.slice/quell-acme.slice"
	// Make the fake look like cgroupfs: every new directory has a subtree_control.
	if err := f.Mkdir(tenant); err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	for _, d := range []string{"quell.slice", tenant} {
		if fi, err := os.Stat(filepath.Join(root, d)); err != nil || !fi.IsDir() {
			t.Fatalf("%s not created: %v", d, err)
		}
		os.WriteFile(filepath.Join(root, d, "cgroup.subtree_control"), nil, 0o644)
	}
	if err := f.Mkdir(tenant); err != nil {
		t.Errorf("Mkdir of an existing cgroup: %v", err)
	}
	if err := f.EnableControllers(tenant, "memory"); err != nil {
		t.Fatalf("EnableControllers: %v", err)
	}
	// Root already had memory: untouched. quell.slice got "+memory". The
	// tenant's own subtree_control is not written.
	if got := readT(t, filepath.Join(root, "cgroup.subtree_control")); got != "cpu memory" {
		t.Errorf("root subtree_control = %q", got)
	}
	if got := readT(t, filepath.Join(root, "quell.slice/cgroup.subtree_control")); got != "+memory" {
		t.Errorf("quell.slice subtree_control = %q", got)
	}
	if got := readT(t, filepath.Join(root, tenant, "cgroup.subtree_control")); got != "" {
		t.Errorf("tenant subtree_control = %q", got)
	}
	if err := f.EnableControllers(tenant, "io"); err != nil {
		t.Fatal(err)
	}
	if got := readT(t, filepath.Join(root, "cgroup.subtree_control")); got != "+io" {
		t.Errorf("root subtree_control = %q, want +io written", got)
	}
	if err := f.EnableControllers(tenant, "+cpu"); !errors.Is(err, ErrSyntax) {
		t.Errorf("bad controller name: %v", err)
	}
	if err := f.EnableControllers("init.scope", "cpu"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("EnableControllers(init.scope): %v", err)
	}
	if err := f.Mkdir("a/../../b"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("Mkdir escaping: %v", err)
	}
	// The fake x.slice has no cgroup.subtree_control (cgroupfs would).
	if err := f.Mkdir("x.slice/y.slice", "pids"); !errors.Is(err, ErrMissing) {
		t.Errorf("Mkdir with controllers: %v, want ErrMissing from x.slice", err)
	}
	if got := readT(t, filepath.Join(root, "cgroup.subtree_control")); got != "+pids" {
		t.Errorf("root subtree_control = %q, want +pids written", got)
	}
}
