package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/quell-dev/quell/internal/testenv"
)

func writeModIndex(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"modules.dep": "kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko\n" +
			"kernel/lib/libcrc32c.ko:\n" +
			"kernel/crypto/crc32c_generic.ko:\n" +
			"kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\n" +
			"kernel/net/9p/9pnet.ko:\n" +
			"kernel/fs/netfs/netfs.ko:\n" +
			"kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n",
		"modules.softdep": "# comment\nsoftdep libcrc32c pre: crc32c post: nothing\n",
		"modules.alias":   "alias crc32c crc32c_generic\nalias crc32c crc32c_intel\nalias pci:v* virtio_pci\n",
		"modules.builtin": "kernel/fs/overlayfs/overlay.ko\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(ms []module) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestResolveModulesOrdersDependenciesFirst(t *testing.T) {
	t.Parallel()
	idx, err := loadModuleIndex(writeModIndex(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := idx.resolveModules([]string{"xfs", "overlay", "9p", "xfs"})
	if err != nil {
		t.Fatal(err)
	}
	// crc32c_intel is an alias target missing from modules.dep: skipped as optional.
	want := []string{"crc32c_generic", "libcrc32c", "xfs", "9pnet", "netfs", "9p"}
	if !slices.Equal(names(got), want) {
		t.Fatalf("order = %v, want %v", names(got), want)
	}
	if !got[0].Optional || got[2].Optional {
		t.Fatalf("softdep should be optional and xfs required: %+v", got)
	}
}

func TestResolveModulesErrors(t *testing.T) {
	t.Parallel()
	idx, err := loadModuleIndex(writeModIndex(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idx.resolveModules([]string{"nosuch"}); err == nil {
		t.Fatal("unknown module resolved without error")
	}
	if _, err := idx.resolveModules([]string{"a"}); err == nil {
		t.Fatal("dependency cycle resolved without error")
	}
	if _, err := loadModuleIndex(t.TempDir()); err == nil {
		t.Fatal("missing modules.dep loaded without error")
	}
}

// TestResolveRealKernelModules checks the module list against the kernel
// the lab boots, when it is installed on this host.
func TestResolveRealKernelModules(t *testing.T) {
	t.Parallel()
	k, err := findKernel("/boot", "/lib/modules")
	if err != nil {
		testenv.SkipUnlessCI(t, "no Debian kernel on this host: %v", err)
	}
	idx, err := loadModuleIndex(k.ModDir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := idx.resolveModules(guestModules)
	if err != nil {
		t.Fatal(err)
	}
	n := names(got)
	if i, j := slices.Index(n, "virtio_ring"), slices.Index(n, "virtio_pci"); j >= 0 && (i < 0 || i > j) {
		t.Fatalf("virtio_ring must precede virtio_pci: %v", n)
	}
}
