//go:build lab

package kernel

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// labelTrustPolicy: "payments" trusts only the namespace containerd's CRI
// recorded; "plain" takes the same claim from any label (what policy check
// warns about); "rest" takes everything else.
const labelTrustPolicy = `
[[tenant]]
name = "payments"
class = "guaranteed"
  [tenant.match]
  trusted_labels = { "io.kubernetes.pod.namespace" = "payments" }
  [tenant.container]
  memory = "96MiB"

[[tenant]]
name = "plain"
  [tenant.match]
  labels = { "io.kubernetes.pod.namespace" = "payments" }
  [tenant.container]
  memory = "64MiB"

[[tenant]]
name = "rest"
  [tenant.match]
  cgroups = ["**"]
  [tenant.container]
  memory = "32MiB"
`

// TestLabelTrustSuppliedNamespaceDoesNotJoinTenant performs the hostile
// act: a pod in namespace "evil" supplies io.kubernetes.pod.namespace =
// "payments" as an annotation (what a permissive pod_annotations allow-list
// lets through), and a Docker container is labelled so by its creator.
// Neither may get the payments tenant; only the real payments pod does.
func TestLabelTrustSuppliedNamespaceDoesNotJoinTenant(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, labelTrustPolicy)
	real := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Containerd, Name: "ledger", Namespace: "payments"})
	evil := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Containerd, Name: "claim", Namespace: "evil",
		Annotations: map[string]string{"io.kubernetes.pod.namespace": "payments"}})
	docker := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "claim-docker",
		Labels: map[string]string{"io.kubernetes.pod.namespace": "payments"}})

	waitFile(t, filepath.Join(real.CgroupDir, "memory.max"), "100663296", 10*time.Second)
	waitFile(t, filepath.Join(evil.CgroupDir, "memory.max"), "33554432", 10*time.Second)
	// The Docker label is the creator's: plain labels take it, trusted ones never.
	waitFile(t, filepath.Join(docker.CgroupDir, "memory.max"), "67108864", 10*time.Second)

	v := q.view()
	tenantOf := map[string]string{}
	reason := map[string]string{}
	for _, c := range v.Containers {
		tenantOf[c.ID], reason[c.ID] = c.Tenant, c.MatchReason
	}
	for _, tc := range []struct {
		id, want string
	}{{real.ID, "payments"}, {evil.ID, "rest"}, {docker.ID, "plain"}} {
		if tenantOf[tc.id] != tc.want {
			t.Errorf("container %s: tenant %q, want %q (%s)", tc.id[:12], tenantOf[tc.id], tc.want, reason[tc.id])
		}
	}
	t.Logf("FIGURE label-trust payments-pod memory.max=%s evil-pod=%s docker-labelled=%s",
		strings.TrimSpace(labkit.ReadFile(filepath.Join(real.CgroupDir, "memory.max"))),
		strings.TrimSpace(labkit.ReadFile(filepath.Join(evil.CgroupDir, "memory.max"))),
		strings.TrimSpace(labkit.ReadFile(filepath.Join(docker.CgroupDir, "memory.max"))))

	// policy check says what is unsafe in this policy.
	out, _ := q.Quell("policy", "check", "--portable", q.Dir+"/policy.d")
	if !strings.Contains(out, `tenant "plain": labels "io.kubernetes.pod.namespace" is also satisfied`) {
		t.Errorf("quell policy check did not warn about plain's label match:\n%s", out)
	}
}
