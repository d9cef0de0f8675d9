//go:build lab

// End-to-end tests of quelld on a real kernel with real runc containers:
// limits applied to containers placed where Docker puts them, the tenant
// aggregate split among containers, the same policy applied twice writing
// nothing, originals restored when a tenant leaves the policy, and quell's
// own views matching cgroupfs. Each logs "FIGURE …" lines with the figures.
package kernel

import (
	"math"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

const e2ePolicy = `
[[tenant]]
name = "acme"
class = "guaranteed"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  names = ["acme-*"]
  [tenant.container]
  cpus = 0.5
  memory = "64MiB"
  pids = 64

[[tenant]]
name = "ci"
  [tenant.match]
  names = ["ci-*"]
  [tenant.limits]
  cpus = 1.5
`

func TestQuelldLimitsDockerContainerAndRestores(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, e2ePolicy)
	start := time.Now()
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "acme-web", Args: busyArgs(1)})
	took := waitFile(t, filepath.Join(c.CgroupDir, "cpu.max"), "50000 100000", 5*time.Second)
	t.Logf("FIGURE e2e new-container-limited-after %v (container start at %v)", took, time.Since(start)-took)
	if got := strings.TrimSpace(labkit.ReadFile(filepath.Join(c.CgroupDir, "memory.max"))); got != "67108864" {
		t.Fatalf("memory.max = %q, want 67108864", got)
	}
	if got := strings.TrimSpace(labkit.ReadFile(filepath.Join(c.CgroupDir, "pids.max"))); got != "64" {
		t.Fatalf("pids.max = %q, want 64", got)
	}
	cpus, _ := cpuOver(t, 10*time.Second, c.CgroupDir)
	t.Logf("FIGURE e2e cpu.max set=0.5 achieved=%.4f ratio=%.4f", cpus, cpus/0.5)
	if math.Abs(cpus/0.5-1) > 0.03 {
		t.Errorf("busy container under cpus=0.5 used %.4f CPUs, want 0.5 ±3%%", cpus)
	}

	// quell's own view matches cgroupfs.
	v := q.view()
	var found bool
	for _, cv := range v.Containers {
		if cv.ID == c.ID {
			found = true
			if cv.Tenant != "acme" || cv.Name != "acme-web" || cv.PID != c.InitPID {
				t.Errorf("view of the container: tenant %q name %q pid %d; want acme, acme-web, %d", cv.Tenant, cv.Name, cv.PID, c.InitPID)
			}
			if math.Abs(cv.Usage.CPUs-0.5) > 0.1 {
				t.Errorf("quell top says %.3f CPUs, cgroupfs says ~0.5", cv.Usage.CPUs)
			}
			mem := strings.TrimSpace(labkit.ReadFile(filepath.Join(c.CgroupDir, "memory.current")))
			t.Logf("FIGURE e2e top cpus=%.3f memory=%d (memory.current now %s)", cv.Usage.CPUs, cv.Usage.MemoryBytes, mem)
		}
	}
	if !found {
		t.Fatalf("quell top --once --json does not list container %s", c.ID)
	}
	top := q.quell("top", "--once", "-c")
	t.Logf("quell top --once -c:\n%s", top)

	// Applied once: a quiet second minute writes nothing new.
	before := len(q.events())
	time.Sleep(3 * time.Second)
	if after := q.events(); len(after) != before {
		t.Errorf("%d events after a quiet 3s (same policy, same containers); want none: %+v", len(after)-before, after[before:])
	}

	// The tenant leaves the policy: originals come back.
	q.writePolicy(strings.Replace(e2ePolicy, `names = ["acme-*"]`, `names = ["nobody-*"]`, 1))
	if err := q.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(c.CgroupDir, "cpu.max"), "max 100000", 5*time.Second)
	waitFile(t, filepath.Join(c.CgroupDir, "memory.max"), "max", 5*time.Second)
	waitFile(t, filepath.Join(c.CgroupDir, "pids.max"), "max", 5*time.Second)
}

func TestQuelldSplitsTenantCPUAmongContainers(t *testing.T) {
	labkit.Require(t)
	startQuelld(t, e2ePolicy)
	var dirs []string
	for _, name := range []string{"ci-1", "ci-2", "ci-3"} {
		c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: name, Args: busyArgs(1)})
		dirs = append(dirs, c.CgroupDir)
	}
	time.Sleep(5 * time.Second) // let the split settle
	total, each := cpuOver(t, 10*time.Second, dirs...)
	t.Logf("FIGURE e2e split 3 busy set=1.5 achieved=%.4f ratio=%.4f each=%.3f", total, total/1.5, each)
	if math.Abs(total/1.5-1) > 0.05 {
		t.Errorf("three busy ci containers used %.3f CPUs together, want 1.5 ±5%%", total)
	}

	// One goes idle (its busy loop is killed): its share goes to the other two.
	c3 := dirs[2]
	for _, pid := range procsOf(t, c3) {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	time.Sleep(6 * time.Second)
	total, each = cpuOver(t, 10*time.Second, dirs[0], dirs[1])
	t.Logf("FIGURE e2e split 2 busy + 1 idle set=1.5 achieved=%.4f ratio=%.4f each=%.3f", total, total/1.5, each)
	if total < 1.5*0.95 || total > 1.5*1.05 {
		t.Errorf("two busy siblings of an idle one used %.3f CPUs, want the tenant's 1.5 ±5%%", total)
	}
	for _, pid := range procsOf(t, c3) {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
}

func procsOf(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(labkit.ReadFile(filepath.Join(dir, "cgroup.procs"))) {
		var p int
		for _, c := range f {
			p = p*10 + int(c-'0')
		}
		pids = append(pids, p)
	}
	return pids
}
