package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/quell-dev/quell/internal/testenv"
)

// TestCPIOReadableByCpio checks the archive with the real cpio tool, which
// unpacks the newc format exactly as the kernel does.
func TestCPIOReadableByCpio(t *testing.T) {
	t.Parallel()
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		testenv.SkipUnlessCI(t, "cpio tool not installed; the lab itself does not need it")
	}
	var buf bytes.Buffer
	w := newCPIOWriter(&buf)
	must(t, w.Dir("etc", 0o755))
	must(t, w.File("etc/hello", 0o644, []byte("hi there\n")))
	must(t, w.File("init", 0o755, []byte("odd")))
	must(t, w.Symlink("bin", "etc"))
	must(t, w.Close())

	dir := t.TempDir()
	cmd := exec.Command(cpio, "-idm", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "bin", "hello"))
	if err != nil || string(got) != "hi there\n" {
		t.Fatalf("etc/hello via symlink = %q, %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "init"))
	if err != nil || fi.Mode().Perm() != 0o755 || fi.Size() != 3 {
		t.Fatalf("init = %v, %v; want 0755, 3 bytes", fi, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
