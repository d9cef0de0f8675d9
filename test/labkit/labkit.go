// Package labkit owns the in-guest helpers that the real-kernel tests
// (test/kernel, test/systemd, test/demo) and the benchmark suite
// (benchmarks, built into cmd/quell-bench) share: it checks that a test
// really is in the lab, makes throwaway cgroups, starts busy loops, and
// starts real runc containers placed exactly where Docker, containerd
// (Kubernetes) and podman place theirs, with their metadata where those
// runtimes keep it. Helpers that take a testing.TB fail the test; the
// benchmarks, which have none, use the forms that return an error.
//
// Everything it creates is removed at test cleanup (or by the caller of an
// error-returning form). It must only be used inside the lab guest, or on
// a host given over to quell-bench: it writes to /sys/fs/cgroup, /run and
// /var/lib, which on a development host belong to the host.
package labkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// RequiredControllers must be enabled in the root cgroup of the lab.
var RequiredControllers = []string{"cpu", "io", "memory", "pids"}

// Root returns the cgroup v2 mount point: $QUELL_LAB_CGROUP, or
// /sys/fs/cgroup.
func Root() string {
	if r := os.Getenv("QUELL_LAB_CGROUP"); r != "" {
		return r
	}
	return "/sys/fs/cgroup"
}

// Require fails the test (never skips it) unless it runs in the lab:
// QUELL_LAB=1, cgroup v2 mounted at Root(), and RequiredControllers all
// enabled in the root's cgroup.subtree_control.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("QUELL_LAB") != "1" {
		t.Fatal("not in the lab (QUELL_LAB!=1): run real-kernel tests with bin/lab test or make test")
	}
	root := Root()
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		t.Fatalf("statfs %s: %v", root, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Fatalf("%s is not a cgroup v2 mount (fs type %#x)", root, st.Type)
	}
	b, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	if err != nil {
		t.Fatal(err)
	}
	enabled := strings.Fields(string(b))
	for _, c := range RequiredControllers {
		if !contains(enabled, c) {
			t.Fatalf("controller %s not enabled in %s/cgroup.subtree_control (%q)", c, root, enabled)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
