// Package labkit helps real-kernel tests that run inside the lab VM
// (test/lab): it checks that the test really is in the lab, makes
// throwaway cgroups, starts busy loops, and starts real runc containers
// placed exactly where Docker, containerd (Kubernetes) and podman place
// theirs, with their metadata where those runtimes keep it.
//
// Everything it creates is removed at test cleanup. It must only be used
// inside the lab guest: it writes to /sys/fs/cgroup, /run and /var/lib,
// which on a development host belong to the host.
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
