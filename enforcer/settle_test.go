package enforcer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestContainerLeftAloneWhileItsRuntimeCreatesIt: a Docker cgroup whose
// runc state has not appeared is still being set up by runc (a write then
// races runc's own cgroup setup), so nothing is written to it until the
// state appears, or stateWait has passed.
func TestContainerLeftAloneWhileItsRuntimeCreatesIt(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", `
[[tenant]]
name = "docker"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  [tenant.container]
  cpus = 0.5
`)
	cgA := h.container(idA, "a", 0)
	cgB := h.container(idB, "b", 0)
	for _, id := range []string{idA, idB} {
		must(t, os.RemoveAll(filepath.Join(h.run, "docker/runtime-runc/moby", id)))
	}
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	for _, cg := range []string{cgA, cgB} {
		if got := h.read("cgroup/" + cg + "/cpu.max"); got != "max 100000" {
			t.Fatalf("%s written while its runtime state is missing: cpu.max = %q", cg, got)
		}
	}
	// A's state appears: A is limited at once; B still waits.
	h.file("run/docker/runtime-runc/moby/"+idA+"/state.json", `{"id":"`+idA+`","init_process_pid":0,"config":{"cgroups":{"path":"/`+cgA+`"}}}`)
	clock.Add(time.Second)
	e.Tick(ctx)
	if got := h.read("cgroup/" + cgA + "/cpu.max"); got != "50000 100000" {
		t.Errorf("after its state appeared cpu.max = %q, want 50000 100000", got)
	}
	if got := h.read("cgroup/" + cgB + "/cpu.max"); got != "max 100000" {
		t.Errorf("B written before stateWait: cpu.max = %q", got)
	}
	// B never gets state: limited by its path once stateWait is over.
	clock.Add(stateWait)
	e.Tick(ctx)
	if got := h.read("cgroup/" + cgB + "/cpu.max"); got != "50000 100000" {
		t.Errorf("after stateWait cpu.max = %q, want 50000 100000", got)
	}
}
