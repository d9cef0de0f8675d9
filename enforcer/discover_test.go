package enforcer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func viewPID(t *testing.T, e *Enforcer, cg string) (int, string) {
	t.Helper()
	for _, c := range e.View().Containers {
		if c.Cgroup == cg {
			return c.PID, c.MetaErr
		}
	}
	t.Fatalf("%s not in the view", cg)
	return 0, ""
}

// TestRestartedContainerIsReadAgain: a container restarted at the same
// cgroup path (the directory made again: another inode) has its new init
// PID at once; a PID that changed without that is seen at the next resync.
func TestRestartedContainerIsReadAgain(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	cg, _ := h.runningContainer(idA, "acme-web", 100)
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	if pid, err := viewPID(t, e, cg); pid != 100 {
		t.Fatalf("PID = %d (%s), want 100", pid, err)
	}
	// Restart: the runtime removes the cgroup and makes it again. (The old
	// directory is moved aside first so the new one cannot get its inode
	// back from the file system; cgroupfs never reuses one.)
	dir := filepath.Join(h.cg, cg)
	must(t, os.Rename(dir, dir+".old"))
	h.runningContainer(idA, "acme-web", 200)
	must(t, os.RemoveAll(dir+".old"))
	e.RequestRescan()
	clock.Add(time.Second)
	e.Tick(ctx)
	if pid, err := viewPID(t, e, cg); pid != 200 {
		t.Fatalf("after the restart PID = %d (%s), want the new init 200", pid, err)
	}
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "50000 100000" {
		t.Errorf("after the restart cpu.max = %q, want the tenant's cap again", got)
	}
	// The init changes behind a cgroup that stayed: seen at the next resync.
	h.runningContainer(idA, "acme-web", 300)
	clock.Add(time.Second)
	e.Tick(ctx)
	if pid, _ := viewPID(t, e, cg); pid != 200 {
		t.Fatalf("PID = %d before any rescan, want still 200", pid)
	}
	clock.Add(e.cfg.Resync)
	e.Tick(ctx)
	if pid, err := viewPID(t, e, cg); pid != 300 {
		t.Fatalf("after a resync PID = %d (%s), want 300", pid, err)
	}
}

// TestSandboxContainerIsInNoTenant: a pod's pause container, as its CRI
// runtime marks it, joins no tenant even when the tenant's glob covers it.
func TestSandboxContainerIsInNoTenant(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-k.toml", `
[[tenant]]
name = "k"
  [tenant.match]
  cgroups = ["kubepods/**"]
  [tenant.container]
  cpus = 0.5
`)
	pause := "kubepods/besteffort/pod1/" + idA
	work := "kubepods/besteffort/pod1/" + idB
	for id, cg := range map[string]string{idA: pause, idB: work} {
		typ := "container"
		if id == idA {
			typ = "sandbox"
		}
		h.file("cgroup/"+cg+"/cpu.max", "max 100000\n")
		h.file("cgroup/"+cg+"/cgroup.procs", "")
		h.file("run/containerd/runc/k8s.io/"+id+"/state.json",
			`{"id":"`+id+`","config":{"cgroups":{"path":"/`+cg+`"},"labels":["io.kubernetes.cri.container-type=`+typ+`"]}}`)
	}
	e := h.enforcer(newClock())
	e.Tick(context.Background())
	for _, c := range e.View().Containers {
		switch c.Cgroup {
		case pause:
			if c.Tenant != "" || !c.Sandbox {
				t.Errorf("pause container: tenant %q sandbox %v, want no tenant", c.Tenant, c.Sandbox)
			}
		case work:
			if c.Tenant != "k" {
				t.Errorf("workload: tenant %q, want k (%s)", c.Tenant, c.MatchReason)
			}
		}
	}
	if got := h.read("cgroup/" + pause + "/cpu.max"); got != "max 100000" {
		t.Errorf("pause container's cpu.max = %q, want untouched", got)
	}
}

// TestDuplicateIDLendsItsMetadataToNone: when two runtimes' cgroups claim
// one ID and both states check out, neither keeps the name (so neither
// joins a tenant by name), and a look-alike whose state names another
// cgroup never gets it.
func TestDuplicateIDLendsItsMetadataToNone(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy)
	dock := h.container(idA, "acme-web", 0)
	pod := "machine.slice/libpod-" + idA + ".scope"
	h.file("cgroup/"+pod+"/cpu.max", "max 100000\n")
	h.file("cgroup/"+pod+"/cgroup.procs", "")
	h.file("run/runc/"+idA+"/state.json", `{"id":"`+idA+`","config":{"cgroups":{"path":"/`+pod+`"},"labels":["io.podman.annotations.name=acme-pod"]}}`)
	look := "docker/" + idB // Docker's cgroupfs place; idB's state names system.slice
	h.container(idB, "acme-other", 0)
	h.file("cgroup/"+look+"/cpu.max", "max 100000\n")
	h.file("cgroup/"+look+"/cgroup.procs", "")
	e := h.enforcer(newClock())
	e.Tick(context.Background())
	for _, c := range e.View().Containers {
		switch c.Cgroup {
		case dock, pod:
			if c.Name != "" || c.Tenant != "" || c.MetaErr == "" {
				t.Errorf("%s: name %q tenant %q meta_error %q; want the duplicate ID refused", c.Cgroup, c.Name, c.Tenant, c.MetaErr)
			}
		case look:
			if c.Name != "" || c.Tenant != "" {
				t.Errorf("%s: name %q tenant %q; want no metadata from %s's state", c.Cgroup, c.Name, c.Tenant, idB[:12])
			}
		}
	}
	for _, cg := range []string{dock, pod, look} {
		if got := h.read("cgroup/" + cg + "/cpu.max"); got != "max 100000" {
			t.Errorf("%s cpu.max = %q, want untouched", cg, got)
		}
	}
}
