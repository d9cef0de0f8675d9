//go:build lab

package systemd_test

import (
	"path"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
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
	d := labkit.RunReal(t, labkit.DockerEngine, "web-1", []string{"-m", "64m", "--cpus", "0.2", "--label", "team=web"})
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
	p := labkit.RunReal(t, labkit.PodmanEngine, "ci-1", []string{"-m", "64m", "--label", "team=ci"})
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
	// make the cross-check refuse it. Names and labels come from the
	// engines themselves: Docker's store below the data-root its API
	// gives (/mnt/xfs/docker here, not /var/lib/docker), podman's API.
	want := map[*labkit.RealContainer][2]string{d: {"web-1", "web"}, p: {"ci-1", "ci"}}
	for _, rc := range []*labkit.RealContainer{d, p} {
		// podman's API is socket-activated: its first answer may come
		// after quelld's first question (it asks again within seconds).
		var c *view.ContainerView
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
			c = findContainer(topJSON(t), rc.ID)
			if c != nil && c.MetaErr == "" && c.Labels["team"] != "" || time.Now().After(deadline) {
				break
			}
		}
		if c == nil {
			t.Errorf("%s container %s (%s) not in quell's view", rc.Engine, rc.Name, rc.Cgroup)
			continue
		}
		t.Logf("FIGURE engines %s container: name %q team=%q pid %d (engine says %d) sources %v meta_error %q",
			rc.Engine, c.Name, c.Labels["team"], c.PID, rc.PID, c.Sources, c.MetaErr)
		if c.MetaErr != "" || c.PID != rc.PID || c.Name != want[rc][0] || c.Labels["team"] != want[rc][1] {
			t.Errorf("%s container %s: quelld has name %q, team=%q, PID %d (engine: %d), metadata error %q",
				rc.Engine, rc.Name, c.Name, c.Labels["team"], c.PID, rc.PID, c.MetaErr)
		}
	}
	// quell explain takes the name and the cgroup's base name, and says
	// where each fact came from.
	for _, key := range []string{"web-1", path.Base(d.Cgroup)} {
		out, code := quell(t, "explain", key)
		t.Logf("quell explain %s:\n%s", key, out)
		// The data-root comes from the Engine API (/info) or, when it
		// was slow to answer, from daemon.json: either way not the
		// default /var/lib/docker.
		if code != 0 || !strings.Contains(out, d.ID[:12]) || !strings.Contains(out, "name:     from /mnt/xfs/docker/containers/"+d.ID+"/config.v2.json") ||
			!strings.Contains(out, "data-root: from /mnt/xfs/docker (from ") {
			t.Errorf("quell explain %s (exit %d) does not name the container and where its name came from", key, code)
		}
	}
	out, _ := quell(t, "explain", "ci-1")
	if !strings.Contains(out, "podman API /run/podman/podman.sock") {
		t.Errorf("quell explain ci-1 does not say the name came from podman's API:\n%s", out)
	}
	// Without podman's API the name is still known, from
	// containers/storage below the graphroot storage.conf gives.
	if err := labkit.StopPodmanAPI(); err != nil {
		t.Fatal(err)
	}
	p2 := labkit.RunReal(t, labkit.PodmanEngine, "ci-2", []string{"--label", "team=ci"})
	var c *view.ContainerView
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if c = findContainer(topJSON(t), p2.ID); c != nil && c.Name != "" {
			break
		}
	}
	if c == nil || c.Name != "ci-2" || !strings.Contains(c.MetaErr, "labels unknown") {
		t.Errorf("podman API down: quelld has %+v; want name ci-2 from containers.json and 'labels unknown'", c)
	} else {
		t.Logf("FIGURE engines podman without its API: name %q from %s; %s", c.Name, c.Sources["name"], c.MetaErr)
	}
}

func findContainer(v view.View, id string) *view.ContainerView {
	for i := range v.Containers {
		if v.Containers[i].ID == id {
			return &v.Containers[i]
		}
	}
	return nil
}
