package enforcer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestContainerLeftAloneWhileItsRuntimeCreatesIt: a Docker cgroup whose
// runc state directory exists without its state.json is still being set
// up by runc (a write then races runc's own cgroup setup), so nothing is
// written to it until the state appears, or stateWait has passed. A cgroup
// with no state directory at all is limited at once: no state will come.
func TestContainerLeftAloneWhileItsRuntimeCreatesIt(t *testing.T) {
	t.Parallel()
	h := dockerHalfCPUHost(t)
	cgA := h.container(idA, "a", 0)
	cgB := h.container(idB, "b", 0)
	cgC := h.container(idSettleC, "c", 0)
	for _, id := range []string{idA, idB} {
		must(t, os.Remove(filepath.Join(h.run, "docker/runtime-runc/moby", id, "state.json")))
	}
	must(t, os.RemoveAll(filepath.Join(h.run, "docker/runtime-runc/moby", idSettleC)))
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	if got := h.read("cgroup/" + cgC + "/cpu.max"); got != "50000 100000" {
		t.Errorf("a cgroup with no runc state directory waited: cpu.max = %q, want 50000 100000", got)
	}
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

const idSettleC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

// TestMissingMetadataReadLessOftenAsItAges: a cgroup without runtime
// state has its metadata read every pass while young (metaEager), then at
// spans growing with its age, never more than metaRetryMax apart; state
// that appears late is still taken within metaRetryMax.
func TestMissingMetadataReadLessOftenAsItAges(t *testing.T) {
	t.Parallel()
	h := dockerHalfCPUHost(t)
	cg := h.container(idSettleC, "c", 0)
	must(t, os.RemoveAll(filepath.Join(h.run, "docker/runtime-runc/moby", idSettleC)))
	clock := newClock()
	e := h.enforcer(clock)
	ctx := context.Background()
	e.Tick(ctx)
	tr := e.known[cg]
	if tr == nil || tr.c.MetaErr == "" {
		t.Fatalf("container without state: tracked %v", tr)
	}
	var reads []time.Duration // ages at which its metadata was read
	last := tr.metaAt
	const passes = 300
	for i := 1; i <= passes; i++ {
		clock.Add(time.Second)
		e.Tick(ctx)
		if tr.metaAt != last {
			last = tr.metaAt
			reads = append(reads, tr.metaAt.Sub(tr.foundAt))
		}
	}
	for i := 1; i < int(metaEager/time.Second); i++ {
		if i > len(reads) || reads[i-1] != time.Duration(i)*time.Second {
			t.Fatalf("not read every pass while young: reads at ages %v", reads)
		}
	}
	prev := time.Duration(0)
	for _, a := range reads {
		if gap := a - prev; gap > metaRetryMax+time.Second {
			t.Errorf("reads %v apart (at age %v), want at most %v", gap, a, metaRetryMax)
		}
		prev = a
	}
	if passes*time.Second-prev > metaRetryMax+time.Second {
		t.Errorf("last read at age %v of %v", prev, passes*time.Second)
	}
	if len(reads) > 30 {
		t.Errorf("metadata read %d times in %d passes: %v", len(reads), passes, reads)
	}
	// Its state appears now: taken within metaRetryMax.
	h.file("run/docker/runtime-runc/moby/"+idSettleC+"/state.json", `{"id":"`+idSettleC+`","init_process_pid":0,"config":{"cgroups":{"path":"/`+cg+`"}}}`)
	for i := 0; tr.c.MetaErr != ""; i++ {
		if time.Duration(i)*time.Second > metaRetryMax {
			t.Fatalf("state not taken %v after it appeared: %s", metaRetryMax, tr.c.MetaErr)
		}
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	if tr.c.Name != "c" {
		t.Errorf("name after the state appeared = %q, want c", tr.c.Name)
	}
}

// dockerHalfCPUHost is a fake host whose policy puts every Docker
// container under a tenant capping each at 0.5 CPUs.
func dockerHalfCPUHost(t *testing.T) *fakeHost {
	h := newFakeHost(t)
	h.file("policy.d/10.toml", `
[[tenant]]
name = "docker"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  [tenant.container]
  cpus = 0.5
`)
	return h
}
