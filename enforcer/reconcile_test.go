package enforcer

import (
	"context"
	"strings"
	"testing"
)

func TestOriginalsOfIOMaxAreKeptPerDevice(t *testing.T) {
	t.Parallel()
	a, b := origKey("io.max", "8:0 rbps=max wbps=1000 riops=max wiops=max"), origKey("io.max", "8:16 rbps=5 wbps=max riops=max wiops=max")
	if a == b || a != "io.max 8:0" || fileOfKey(b) != "io.max" {
		t.Fatalf("keys %q %q: want one per device, naming io.max", a, b)
	}
	if origKey("cpu.max", "50000 100000") != "cpu.max" || fileOfKey("cpu.max") != "cpu.max" {
		t.Fatal("other files are keyed by their name")
	}
}

func TestMissingFileDoesNotBlockTheOthers(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", acmePolicy+"  cpuset = \"0\"\n")
	cg := h.container(idA, "acme-web", 0) // the fake has no cpuset.cpus: controller "not enabled"
	clock := newClock()
	e := h.enforcer(clock)
	e.Tick(context.Background())
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "50000 100000" {
		t.Fatalf("cpu.max = %q: a missing cpuset.cpus blocked the other limits", got)
	}
	c := e.View().Containers[0]
	if len(c.Errors) == 0 || !strings.Contains(strings.Join(c.Errors, " "), "cpuset.cpus") {
		t.Fatalf("container errors %v do not name the missing cpuset.cpus", c.Errors)
	}
}
