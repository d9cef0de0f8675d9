//go:build lab

package systemd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// enginesPolicy takes every real Docker and podman container by its cgroup
// (where the engine, not the user, put it) and caps it tighter than the
// engine's own flags.
const enginesPolicy = `
[[tenant]]
name = "docker"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  [tenant.container]
  memory = "32MiB"
  cpus = 0.1

[[tenant]]
name = "podman"
  [tenant.match]
  cgroups = ["machine.slice/libpod-*.scope"]
  [tenant.container]
  memory = "24MiB"
  pids = 50
`

// TestRealEnginesContainersAreLimited: what a user types — `docker run -m
// 64m --cpus 0.2` on Debian's dockerd 20.10 and `podman run -m 64m` on
// podman 4.3 + crun — and quelld, from the shipped unit, tightens both to
// the policy (the runtime's values are ceilings that the policy is under).
func TestRealEnginesContainersAreLimited(t *testing.T) {
	installQuelld(t, enginesPolicy)
	start := time.Now()
	d := labkit.RunReal(t, labkit.DockerEngine, "web-1", []string{"-m", "64m", "--cpus", "0.2"})
	t.Logf("FIGURE engines docker-run took %v; cgroup %s", time.Since(start).Round(time.Millisecond), d.Cgroup)
	if !strings.HasPrefix(d.Cgroup, "/system.slice/docker-") {
		t.Fatalf("docker put the container at %s, not system.slice/docker-<id>.scope", d.Cgroup)
	}
	for file, want := range map[string]string{"memory.max": "33554432", "cpu.max": "10000 100000"} {
		if err := d.WaitCgroupFile(file, want, 15*time.Second); err != nil {
			t.Error(err)
		}
	}
	start = time.Now()
	p := labkit.RunReal(t, labkit.PodmanEngine, "ci-1", []string{"-m", "64m"})
	t.Logf("FIGURE engines podman-run took %v; cgroup %s", time.Since(start).Round(time.Millisecond), p.Cgroup)
	if !strings.HasPrefix(p.Cgroup, "/machine.slice/libpod-") {
		t.Fatalf("podman put the container at %s, not machine.slice/libpod-<id>.scope", p.Cgroup)
	}
	for file, want := range map[string]string{"memory.max": "25165824", "pids.max": "50"} {
		if err := p.WaitCgroupFile(file, want, 15*time.Second); err != nil {
			t.Error(err)
		}
	}
	// quelld read both engines' runtime state and took it: crun's status
	// under podman names the scope's "container" child, which must not
	// make the cross-check refuse it.
	for _, rc := range []*labkit.RealContainer{d, p} {
		found := false
		for _, c := range topJSON(t).Containers {
			if c.ID != rc.ID {
				continue
			}
			found = true
			t.Logf("FIGURE engines %s container: name %q pid %d (engine says %d) meta_error %q", rc.Engine, c.Name, c.PID, rc.PID, c.MetaErr)
			if c.MetaErr != "" && !strings.Contains(c.MetaErr, "incomplete") || c.PID != rc.PID {
				t.Errorf("%s container %s: quelld's PID %d (engine: %d), metadata error %q", rc.Engine, rc.Name, c.PID, rc.PID, c.MetaErr)
			}
		}
		if !found {
			t.Errorf("%s container %s (%s) not in quell's view", rc.Engine, rc.Name, rc.Cgroup)
		}
	}
}
