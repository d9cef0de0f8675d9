package limits

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReadAndErrors(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		"cpu.stat":                "usage_usec 1\n",
		"a.slice/b.scope/cpu.max": "max 100000\n",
	})
	f := NewFS(root)
	if v, err := f.Read("a.slice/b.scope", "cpu.max"); err != nil || v != "max 100000" {
		t.Errorf("Read = %q, %v", v, err)
	}
	if _, err := f.Read("", "cpu.stat"); err != nil {
		t.Errorf("reading the root cgroup: %v", err)
	}
	if _, err := f.Read("a.slice/gone.scope", "cpu.max"); !errors.Is(err, ErrGone) {
		t.Errorf("missing cgroup: %v, want ErrGone", err)
	}
	if _, err := f.Read("a.slice/b.scope", "memory.max"); !errors.Is(err, ErrMissing) || errors.Is(err, ErrGone) {
		t.Errorf("missing file: %v, want ErrMissing", err)
	}
	for _, bad := range []struct{ cg, file string }{
		{"../etc", "passwd"},
		{"a.slice/../../x", "cpu.max"},
		{"/etc", "passwd"},
		{"a.slice", "../cpu.stat"},
		{"a.slice", "b.scope/cpu.max"},
		{"a.slice", ""},
	} {
		if _, err := f.Read(bad.cg, bad.file); !errors.Is(err, ErrUnsafe) {
			t.Errorf("Read(%q, %q) = %v, want ErrUnsafe", bad.cg, bad.file, err)
		}
	}
}

func TestSymlinkOutOfRootRefused(t *testing.T) {
	t.Parallel()
	outside := fakeTree(t, map[string]string{"cpu.max": "max 100000", "secret": "x"})
	root := fakeTree(t, map[string]string{"a.slice/cpu.max": "max 100000", "a.slice/memory.max": "max"})
	if err := os.Symlink(outside, filepath.Join(root, "a.slice", "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "a.slice", "link.max")); err != nil {
		t.Fatal(err)
	}
	f := NewFS(root)
	if _, err := f.Read("a.slice/evil", "secret"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("read through symlink: %v, want ErrUnsafe", err)
	}
	_, err := f.Apply(context.Background(), "a.slice/evil", []Write{{"cpu.max", "50000 100000"}})
	if !errors.Is(err, ErrUnsafe) {
		t.Errorf("apply through symlink: %v, want ErrUnsafe", err)
	}
	if got := readT(t, filepath.Join(outside, "cpu.max")); got != "max 100000" {
		t.Errorf("file outside the root changed to %q", got)
	}
	// A symlinked file (last element) is not followed.
	if _, err := f.Read("a.slice", "link.max"); err == nil {
		t.Error("read of a symlinked file succeeded")
	}
	if err := f.Mkdir("a.slice/evil/x"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("mkdir through symlink: %v, want ErrUnsafe", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
		t.Error("Mkdir created a directory outside the root")
	}
}

func TestSafetyGuards(t *testing.T) {
	t.Parallel()
	files := map[string]string{"cgroup.freeze": "0", "cgroup.kill": "", "cpu.max": "max 100000"}
	tree := map[string]string{}
	for _, cg := range []string{"", "init.scope", "system.slice", "system.slice/quelld.service",
		"system.slice/quelld.service/sub", "system.slice/docker-1.scope"} {
		for k, v := range files {
			tree[filepath.Join(cg, k)] = v
		}
	}
	root := fakeTree(t, tree)
	f := NewFS(root, WithSelf("/system.slice/quelld.service"))
	ctx := context.Background()
	for _, cg := range []string{"", ".", "/", "init.scope", "init.scope/x", "system.slice",
		"system.slice/quelld.service", "system.slice/quelld.service/sub", "../x"} {
		if _, err := f.Apply(ctx, cg, []Write{{"cpu.max", "1000 100000"}}); !errors.Is(err, ErrUnsafe) {
			t.Errorf("Apply(%q) = %v, want ErrUnsafe", cg, err)
		}
		if err := f.Restore(ctx, cg, []Write{{"cpu.max", "1000 100000"}}); !errors.Is(err, ErrUnsafe) {
			t.Errorf("Restore(%q) = %v, want ErrUnsafe", cg, err)
		}
		if err := f.Freeze(ctx, cg); !errors.Is(err, ErrUnsafe) {
			t.Errorf("Freeze(%q) = %v, want ErrUnsafe", cg, err)
		}
		if err := f.Thaw(ctx, cg); !errors.Is(err, ErrUnsafe) {
			t.Errorf("Thaw(%q) = %v, want ErrUnsafe", cg, err)
		}
		if err := f.Kill(cg); !errors.Is(err, ErrUnsafe) {
			t.Errorf("Kill(%q) = %v, want ErrUnsafe", cg, err)
		}
		if err := f.Mkdir(cg + "/new"); cg != "" && cg != "." && cg != "/" && cg != "system.slice" && !errors.Is(err, ErrUnsafe) {
			t.Errorf("Mkdir(%q) = %v, want ErrUnsafe", cg+"/new", err)
		}
	}
	for _, cg := range []string{"", "init.scope", "system.slice", "system.slice/quelld.service", "system.slice/quelld.service/sub"} {
		for file, v := range files {
			if got := readT(t, filepath.Join(root, cg, file)); got != v {
				t.Errorf("%s/%s changed to %q", cg, file, got)
			}
		}
	}
	// A sibling of quelld's cgroup is fine.
	if _, err := f.Apply(ctx, "system.slice/docker-1.scope", []Write{{"cpu.max", "1000 100000"}}); err != nil {
		t.Errorf("Apply to a container: %v", err)
	}
	if err := f.Kill("system.slice/docker-1.scope"); err != nil {
		t.Errorf("Kill of a container: %v", err)
	}
	if got := readT(t, filepath.Join(root, "system.slice/docker-1.scope/cgroup.kill")); got != "1" {
		t.Errorf("cgroup.kill = %q", got)
	}
}

// A cgroup directory that resolved safely once and was then swapped for a
// symlink (impossible on cgroupfs, possible on any other root) must not
// lead a read or a write out of the root: the open itself refuses it.
func TestSymlinkSwappedInAfterResolveRefused(t *testing.T) {
	t.Parallel()
	outside := fakeTree(t, map[string]string{"cpu.max": "max 100000"})
	root := fakeTree(t, map[string]string{"a.slice/b/cpu.max": "max 100000"})
	f := NewFS(root)
	if _, err := f.Read("a.slice/b", "cpu.max"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "a.slice", "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "a.slice", "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read("a.slice/b", "cpu.max"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("read through a swapped-in symlink: %v, want ErrUnsafe", err)
	}
	_, err := f.Apply(context.Background(), "a.slice/b", []Write{{"cpu.max", "50000 100000"}})
	if err == nil {
		t.Error("apply through a swapped-in symlink succeeded")
	}
	if got := readT(t, filepath.Join(outside, "cpu.max")); got != "max 100000" {
		t.Errorf("file outside the root changed to %q", got)
	}
}
