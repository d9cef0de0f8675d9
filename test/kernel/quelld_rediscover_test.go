//go:build lab

package kernel

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

const rediscoverPolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  cpus = 0.5
`

// containerAt is the container quelld lists at cgroup cg, and whether it
// lists one.
func (q *quelld) containerAt(cg string) (view.ContainerView, bool) {
	q.t.Helper()
	for _, c := range q.containers() {
		if c.Cgroup == strings.TrimPrefix(cg, "/") {
			return c, true
		}
	}
	return view.ContainerView{}, false
}

// waitContainer waits (within) until quelld lists a container at cg for
// which ok holds, and returns it; on timeout it fails with the last one.
func (q *quelld) waitContainer(cg string, within time.Duration, ok func(view.ContainerView) bool) view.ContainerView {
	q.t.Helper()
	var c view.ContainerView
	var found bool
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if c, found = q.containerAt(cg); found && ok(c) {
			return c
		}
	}
	q.t.Fatalf("after %v quelld lists at %s: found %v, %+v", within, cg, found, c.Container)
	return c
}

// TestQuelldSeesARestartedContainersNewInit: a container restarted at the
// same cgroup path between two passes (its runtime deletes it and runs it
// again with the same ID, as Docker's restart policy does) is known by its
// new init PID, and its limits are written again on the new cgroup.
func TestQuelldSeesARestartedContainersNewInit(t *testing.T) {
	labkit.Require(t)
	spec := labkit.ContainerSpec{Runtime: labkit.Docker, Name: "acme-restarts"}
	first := labkit.StartContainer(t, spec)
	q := startQuelld(t, rediscoverPolicy)
	c := q.waitContainer(first.Cgroup, 15*time.Second, func(c view.ContainerView) bool { return c.Name == spec.Name })
	if c.PID != first.InitPID {
		t.Fatalf("quelld has PID %d for the container, want its init %d", c.PID, first.InitPID)
	}
	waitFile(t, filepath.Join(first.CgroupDir, "cpu.max"), "50000 100000", 10*time.Second)

	// The restart happens between two of quelld's passes (quelld is held
	// with SIGSTOP meanwhile): it never sees the path without a cgroup,
	// only its inotify events and then the same path again.
	if err := q.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	first.Stop(t)
	spec.ID = first.ID
	second := labkit.StartContainer(t, spec)
	if err := q.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if second.InitPID == first.InitPID {
		t.Fatalf("the restarted container's init has the old PID %d", first.InitPID)
	}
	start := time.Now()
	c = q.waitContainer(second.Cgroup, 20*time.Second, func(c view.ContainerView) bool { return c.PID == second.InitPID })
	took := time.Since(start)
	limit := waitFile(t, filepath.Join(second.CgroupDir, "cpu.max"), "50000 100000", 10*time.Second)
	t.Logf("FIGURE restart old-pid=%d new-pid=%d seen-after=%.1fs cpu.max-rewritten-after=%.1fs", first.InitPID, second.InitPID,
		took.Seconds(), (took + limit).Seconds())
	if c.Name != spec.Name || c.Tenant != "acme" {
		t.Errorf("after the restart: name %q tenant %q, want %s in acme", c.Name, c.Tenant, spec.Name)
	}
}

// TestQuelldReadsCrunState: a podman container run by crun (state in
// /run/crun/<id>/status, crun's own format) has its name, labels and init
// PID from crun's state, so a tenant that matches it by name limits it.
func TestQuelldReadsCrunState(t *testing.T) {
	labkit.Require(t)
	if _, err := exec.LookPath("crun"); err != nil {
		t.Fatalf("crun not installed on the host (the lab's prerequisites install it): %v", err)
	}
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Podman, OCI: "crun", Name: "acme-crun",
		Labels: map[string]string{"team": "acme"}})
	if s := labkit.ReadFile(filepath.Join("/run/crun", c.ID, "status")); !strings.Contains(s, `"cgroup-path"`) {
		t.Fatalf("no crun status for %s:\n%s", c.ID, s)
	} else {
		t.Logf("crun status: %s", strings.Join(strings.Fields(s), " "))
	}
	q := startQuelld(t, rediscoverPolicy)
	v := q.waitContainer(c.Cgroup, 15*time.Second, func(v view.ContainerView) bool { return v.Name != "" || v.MetaErr != "" })
	t.Logf("FIGURE crun name=%q pid=%d (init %d) labels[team]=%q tenant=%q meta_error=%q", v.Name, v.PID, c.InitPID,
		v.Labels["team"], v.Tenant, v.MetaErr)
	if v.Name != "acme-crun" || v.PID != c.InitPID || v.Labels["team"] != "acme" || v.Tenant != "acme" {
		t.Fatalf("crun container: name %q pid %d labels %v tenant %q (meta_error %q); want acme-crun, %d, team=acme, acme",
			v.Name, v.PID, v.Labels, v.Tenant, v.MetaErr, c.InitPID)
	}
	waitFile(t, filepath.Join(c.CgroupDir, "cpu.max"), "50000 100000", 10*time.Second)
}
