//go:build lab

package kernel

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

const sandboxPolicy = `
[[tenant]]
name = "batch"
  [tenant.match]
  trusted_labels = { "io.kubernetes.pod.namespace" = "batch" }
  [tenant.limits]
  cpus = 1
  [tenant.container]
  memory = "64MiB"
`

// TestQuelldLeavesPodSandboxesOut: a pod's sandbox (pause) container, as
// containerd's CRI marks it, is not a workload: it gets none of its
// tenant's limits and does not take a share of the tenant's split. The
// pod's one workload gets the tenant's whole CPU budget.
func TestQuelldLeavesPodSandboxesOut(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, sandboxPolicy)
	pause := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Containerd, Name: "POD", Namespace: "batch",
		PodName: "job-1", Sandbox: true})
	work := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Containerd, Name: "worker", Namespace: "batch",
		PodName: "job-1", PodUID: pause.Spec.PodUID, SandboxID: pause.ID})
	waitFile(t, filepath.Join(work.CgroupDir, "memory.max"), "67108864", 10*time.Second)
	waitFile(t, filepath.Join(work.CgroupDir, "cpu.max"), "100000 100000", 10*time.Second)
	time.Sleep(2 * time.Second) // two more passes
	for file, want := range map[string]string{"memory.max": "max", "cpu.max": "max 100000"} {
		if got := strings.TrimSpace(labkit.ReadFile(filepath.Join(pause.CgroupDir, file))); got != want {
			t.Errorf("sandbox %s = %q, want %q (untouched)", file, got, want)
		}
	}
	if got := strings.TrimSpace(labkit.ReadFile(filepath.Join(work.CgroupDir, "cpu.max"))); got != "100000 100000" {
		t.Errorf("workload cpu.max = %q, want the whole tenant budget \"100000 100000\" (the sandbox took a share)", got)
	}
	for _, c := range q.view().Containers {
		if c.ID == pause.ID && (c.Tenant != "" || !strings.Contains(c.MatchReason, "sandbox")) {
			t.Errorf("sandbox in tenant %q (%s)", c.Tenant, c.MatchReason)
		}
	}
	t.Logf("FIGURE sandbox pause cpu.max=%q memory.max=%q; worker cpu.max=%q",
		strings.TrimSpace(labkit.ReadFile(filepath.Join(pause.CgroupDir, "cpu.max"))),
		strings.TrimSpace(labkit.ReadFile(filepath.Join(pause.CgroupDir, "memory.max"))),
		strings.TrimSpace(labkit.ReadFile(filepath.Join(work.CgroupDir, "cpu.max"))))
}
