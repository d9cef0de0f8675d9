package projquota

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The walk hands every directory and regular file of the tree to tag, and
// nothing else: not a symlink's target (a host directory), not a FIFO.
// (Tagging itself needs a filesystem with project quotas: the lab tests
// it, and races a symlink swap against it.)
func TestWalkVisitsOnlyTheTree(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	top, outside := filepath.Join(base, "upper"), filepath.Join(base, "host")
	for _, d := range []string{"upper/a/deep", "upper/b", "host/sub"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"upper/a/f", "upper/a/deep/g", "host/secret", "host/sub/key"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(top, "b", "evil")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(top, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(top, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := openBeneath(unix.AT_FDCWD, top, unix.O_DIRECTORY, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	var seen []string
	w := walker{dev: st.Dev, tag: func(fd int, path string, isDir bool) error {
		var s unix.Stat_t
		if err := unix.Fstat(fd, &s); err != nil {
			return err
		}
		if isDir != (s.Mode&unix.S_IFMT == unix.S_IFDIR) {
			t.Errorf("%s: told isDir=%v, fstat says mode %o", path, isDir, s.Mode)
		}
		seen = append(seen, strings.TrimPrefix(path, base+"/"))
		return nil
	}}
	if err := w.dir(fd, top, 0); err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	want := []string{"upper", "upper/a", "upper/a/deep", "upper/a/deep/g", "upper/a/f", "upper/b"}
	if !slices.Equal(seen, want) {
		t.Errorf("visited %q, want %q", seen, want)
	}
}

func TestSetProjectIDRefusesASymlinkedTop(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	link := filepath.Join(base, "upper")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if err := SetProjectID(link, 7); err == nil || !strings.Contains(err.Error(), link) {
		t.Fatalf("a symlink as the layer was walked (or the error does not name it): %v", err)
	}
}

func TestWalkDepthIsCapped(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	p := top
	for i := 0; i < maxWalkDepth+2; i++ {
		p = filepath.Join(p, "d")
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatalf("cannot build a tree %d deep: %v", maxWalkDepth+2, err)
	}
	fd, err := openBeneath(unix.AT_FDCWD, top, unix.O_DIRECTORY, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	w := walker{tag: func(int, string, bool) error { return nil }}
	var st unix.Stat_t
	_ = unix.Fstat(fd, &st)
	w.dev = st.Dev
	if err := w.dir(fd, top, 0); err == nil || !strings.Contains(err.Error(), "deeper than") {
		t.Fatalf("a tree deeper than %d levels: %v", maxWalkDepth, err)
	}
}
