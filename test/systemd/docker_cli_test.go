//go:build lab

package systemd_test

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/desire"
	"github.com/quell-dev/quell/systemd"
	"github.com/quell-dev/quell/test/labkit"
)

// These tests drive Debian's dockerd 20.10 through its own CLI, as a user
// types it, with quelld installed from the shipped unit. Tenants are
// matched by cgroup, where Docker (not the user) put the container.

const looseDockerPolicy = `
[[tenant]]
name = "docker"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  [tenant.container]
  memory = "%s"
  cpus = 1
`

// noDockerPolicy takes no container: every Docker container leaves policy.
const noDockerPolicy = `
[[tenant]]
name = "nobody"
  [tenant.match]
  cgroups = ["nothing.slice/*"]
`

func reloadPolicy(t *testing.T, policy string) {
	t.Helper()
	writePolicy(t, policy)
	mustRun(t, "systemctl", "reload", systemd.UnitName)
}

// TestDockerCLIRuntimeLimitsAreCeilings: `docker run -m 64m --cpus 0.2`
// under a looser policy keeps Docker's values, and quell explain says the
// runtime decided; `docker update --memory 48m` becomes the new original:
// a tighter policy writes under it, and with the policy gone quelld
// restores 48m, not the 64m Docker started with.
func TestDockerCLIRuntimeLimitsAreCeilings(t *testing.T) {
	installQuelld(t, fmt.Sprintf(looseDockerPolicy, "256MiB"))
	start := time.Now()
	d := labkit.RunReal(t, labkit.DockerEngine, "ceil-1", []string{"-m", "64m", "--cpus", "0.2"})
	t.Logf("FIGURE dockercli docker-run took %v; cgroup %s", time.Since(start).Round(time.Millisecond), d.Cgroup)
	// quelld has seen it (it is in its view, in tenant docker) ...
	if !waitFor(20*time.Second, func() bool {
		c := findContainer(topJSON(t), d.ID)
		return c != nil && c.Tenant == "docker"
	}) {
		t.Fatalf("container %s not in quelld's view as tenant docker", d.Cgroup)
	}
	time.Sleep(3 * time.Second) // ... and had passes to loosen it, were it wrong
	for file, want := range map[string]string{"memory.max": "67108864", "cpu.max": "20000 100000"} {
		if got := readCgroup(t, d.Cgroup, file); got != want {
			t.Errorf("under a looser policy %s = %q, want Docker's %q", file, got, want)
		}
	}
	for _, key := range []string{d.ID[:12], path.Base(d.Cgroup)} {
		out, code := quell(t, "explain", key)
		if code != 0 || !strings.Contains(out, "memory.max = 67108864") || !strings.Contains(out, "decided by: runtime") {
			t.Errorf("quell explain %s (exit %d) does not say the runtime's 64m decided:\n%s", key, code, out)
		} else {
			t.Logf("quell explain %s:\n%s", key, out)
		}
	}

	start = time.Now()
	if out, err := labkit.EngineCmd(labkit.DockerEngine, "update", "--memory", "48m", "--memory-swap", "48m", d.Name); err != nil {
		t.Fatalf("docker update: %v\n%s", err, out)
	}
	t.Logf("FIGURE dockercli docker-update took %v", time.Since(start).Round(time.Millisecond))
	if err := d.WaitCgroupFile("memory.max", "50331648", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if got := readCgroup(t, d.Cgroup, "memory.max"); got != "50331648" {
		t.Errorf("after docker update under a looser policy memory.max = %q, want 48m 50331648", got)
	}

	reloadPolicy(t, fmt.Sprintf(looseDockerPolicy, "32MiB"))
	if err := d.WaitCgroupFile("memory.max", "33554432", 15*time.Second); err != nil {
		t.Error(err)
	}
	reloadPolicy(t, noDockerPolicy)
	if err := d.WaitCgroupFile("memory.max", "50331648", 15*time.Second); err != nil {
		t.Errorf("policy removed: %v (64m 67108864 would be Docker's first value, not its update)", err)
	}
	if got := readCgroup(t, d.Cgroup, "cpu.max"); got != "20000 100000" {
		t.Errorf("policy removed: cpu.max = %q, want Docker's 20000 100000", got)
	}
}

// TestDockerCLICgroupParentTenantSlice: `docker run
// --cgroup-parent=quell-shared.slice` puts the container in quelld's
// tenant slice; the tenant's aggregate memory holds across two containers
// that each fill 64 MiB of tmpfs.
func TestDockerCLICgroupParentTenantSlice(t *testing.T) {
	const tenant = "shared"
	slice := desire.SliceFor(tenant)
	installQuelld(t, `
[[tenant]]
name = "shared"
  [tenant.match]
  cgroups = ["`+slice+`/docker-*.scope"]
  [tenant.limits]
  memory = "96MiB"
  swap = "0"
  pids = 100
`)
	opts := []string{"--cgroup-parent=" + path.Base(slice), "--shm-size", "128m"}
	var cs []*labkit.RealContainer
	for _, name := range []string{"shared-1", "shared-2"} {
		start := time.Now()
		c := labkit.RunReal(t, labkit.DockerEngine, name, opts)
		t.Logf("FIGURE dockercli --cgroup-parent run took %v; cgroup %s", time.Since(start).Round(time.Millisecond), c.Cgroup)
		if want := "/" + slice + "/docker-" + c.ID + ".scope"; c.Cgroup != want {
			t.Fatalf("--cgroup-parent=%s put the container at %s, want %s", path.Base(slice), c.Cgroup, want)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		if !waitFor(20*time.Second, func() bool {
			v := findContainer(topJSON(t), c.ID)
			return v != nil && v.Tenant == tenant
		}) {
			t.Errorf("container %s not in quelld's view as tenant %s", c.Cgroup, tenant)
		}
	}
	waitCgroup(t, slice, "memory.max", "100663296", 15*time.Second)
	waitCgroup(t, slice, "pids.max", "100", 15*time.Second)

	for _, c := range cs {
		start := time.Now()
		out, err := c.Exec("dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=64")
		t.Logf("FIGURE dockercli %s fill 64MiB tmpfs took %v: err %v; %s", c.Name, time.Since(start).Round(time.Millisecond), err, strings.TrimSpace(out))
	}
	cur, _ := strconv.ParseInt(readCgroup(t, slice, "memory.current"), 10, 64)
	peak := readCgroup(t, slice, "memory.peak") // 6.1 has no memory.peak; empty then
	events := readCgroup(t, slice, "memory.events")
	t.Logf("FIGURE dockercli tenant slice memory.current %d (limit 100663296) peak %q events %q", cur, peak, strings.ReplaceAll(events, "\n", "; "))
	if cur <= 0 || cur > 100663296 {
		t.Errorf("slice memory.current = %d, want 0 < it <= 96MiB", cur)
	}
	ev := parseKV(events)
	if ev["max"] == 0 && ev["oom"] == 0 {
		t.Errorf("slice memory.events shows neither max nor oom after 128MiB into a 96MiB tenant: %q", events)
	}
	for _, c := range cs {
		t.Logf("%s memory.current %s memory.max %s", c.Name, readCgroup(t, c.Cgroup, "memory.current"), readCgroup(t, c.Cgroup, "memory.max"))
	}
}

func parseKV(s string) map[string]int64 {
	m := map[string]int64{}
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return m
}

// TestDockerCLIRestartAlwaysQuarantine: a `--restart=always` container
// running a process a detector names is evicted; Docker restarts it and
// quelld evicts it again on sight while the quarantine lasts; Docker then
// gives up restarting it (see below).
func TestDockerCLIRestartAlwaysQuarantine(t *testing.T) {
	installQuelld(t, `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]

[[detector]]
name = "no-sleepers"
kind = "process-name"
names = ["sleep"]
classes = ["best-effort"]
action = "evict"
quarantine = "2m"
`)
	start := time.Now()
	// Not RunReal: the detector may evict it before an inspect finds it
	// running.
	labkit.StartEngine(t, labkit.DockerEngine)
	out, err := labkit.EngineCmd(labkit.DockerEngine, "run", "-d", "--name", "sleeper", "--restart=always", labkit.BusyboxImage, "sleep", "3600")
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = labkit.EngineCmd(labkit.DockerEngine, "rm", "-f", "sleeper") })
	id := strings.TrimSpace(out)
	t.Logf("FIGURE dockercli --restart=always run took %v; id %s", time.Since(start).Round(time.Millisecond), id)

	// Each run's length from Docker's own StartedAt/FinishedAt; every
	// change of Docker's view of it is logged.
	seen := map[time.Time]time.Time{}
	var count int
	last := ""
	var longRun string // a run that outlived on-sight eviction, after the first eviction
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		out, err := labkit.EngineCmd(labkit.DockerEngine, "inspect", "-f",
			"{{.State.StartedAt}} {{.State.FinishedAt}} {{.RestartCount}} {{.State.Status}} restarting={{.State.Restarting}} exit={{.State.ExitCode}} error={{.State.Error}}", "sleeper")
		if err == nil {
			if out != last {
				t.Logf("%s docker inspect: %s", time.Now().Format("15:04:05.000"), strings.TrimSpace(out))
				last = out
			}
			f := strings.Fields(out)
			if len(f) >= 3 {
				s, e1 := time.Parse(time.RFC3339Nano, f[0])
				e, e2 := time.Parse(time.RFC3339Nano, f[1])
				if e1 == nil && e2 == nil && e.After(s) {
					seen[s] = e
				}
				count, _ = strconv.Atoi(f[2])
				if len(seen) > 0 && len(f) >= 4 && f[3] == "running" && e1 == nil && time.Since(s) > 10*time.Second && longRun == "" {
					longRun = strings.TrimSpace(out)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(seen) < 1 {
		j, _ := run(t, "journalctl", "--no-pager", "-o", "cat", "-n", "40", "-u", "docker")
		t.Logf("dockerd journal tail:\n%s", j)
	}
	// Seen in the lab (dockerd 20.10.24, runc 1.1): quelld's on-sight kill
	// of the restart can land during `runc create`; Docker's start then
	// fails ("runc create failed") and its restart manager gives up, so the
	// container stays exited. Otherwise each restart is killed on sight.
	// Either way no run after the first eviction lasts.
	if len(seen) < 1 {
		t.Errorf("the container was never evicted; Docker says %q", last)
	}
	if longRun != "" {
		t.Errorf("a restart ran for over 10 s inside the quarantine: %q", longRun)
	}
	t.Logf("FIGURE dockercli after 90 s Docker says: %s", strings.TrimSpace(last))
	for s, e := range seen {
		t.Logf("FIGURE dockercli run started %s ran %v before eviction", s.Format("15:04:05.000"), e.Sub(s).Round(time.Millisecond))
	}
	t.Logf("FIGURE dockercli docker RestartCount %d after %v", count, time.Since(start).Round(time.Second))

	v := topJSON(t)
	found := false
	for _, q := range v.Quarantine {
		if q.ID == id && q.Kills >= 2 {
			found = true
			t.Logf("FIGURE dockercli quarantine %s rule %s kills %d until %s", q.Identity, q.Rule, q.Kills, q.Until.Sub(q.Since))
		}
	}
	if !found {
		t.Errorf("quell top --json lists no quarantine for %s: %+v", id, v.Quarantine)
	}
	out, _ = quell(t, "status")
	t.Logf("quell status:\n%s", out)
	if !strings.Contains(out, "quarantine:") || !strings.Contains(out, "no-sleepers") {
		t.Errorf("quell status does not list the quarantine")
	}
	ev, _ := quell(t, "events")
	t.Logf("quell events:\n%s", tail(ev, 3000))
}
