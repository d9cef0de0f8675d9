//go:build lab

package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/test/labkit"
)

// TestQuelldIgnoresALayerPathTheContainerMounted: a container's init (with
// Docker's default capabilities, no seccomp filter) makes itself a user
// and mount namespace and mounts an overlay over its
// "/" whose upperdir is its own directory named like a host directory on
// the project-quota XFS disk. Its mount table then shows that host path as
// its writable layer. quelld must take the layer from the runtime's
// storage, not from that table: the host directory is never tagged with
// the container's disk project.
func TestQuelldIgnoresALayerPathTheContainerMounted(t *testing.T) {
	labkit.Require(t)
	xfs := quotaMount(t, "QUELL_LAB_XFS")
	host := filepath.Join(xfs, "host-data-"+labkit.HexID("")[:8])
	if err := os.MkdirAll(filepath.Join(host, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(host) })
	if err := os.WriteFile(filepath.Join(host, "sub", "file"), []byte("host's own"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Inside the container (busybox): the same path in its own rootfs,
	// then an overlay over "/" with that as its upperdir.
	script := fmt.Sprintf(`set -e
mkdir -p %[1]s /.w /.l
exec unshare -U -r -m sh -c 'mount -t overlay overlay -o lowerdir=/.l,upperdir=%[1]s,workdir=/.w /
exec sleep 3600'`, host)
	// Docker's default capabilities and no seccomp filter (Kubernetes'
	// default, Unconfined): enough to make a user namespace mapping root.
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "layer-liar", Args: []string{"sh", "-c", script},
		Caps: labkit.DockerDefaultCaps})
	var mi string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mi = labkit.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.InitPID))
		if strings.Contains(mi, "upperdir="+host) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container's init did not mount its overlay over /:\n%s\ncontainer log:\n%s", mi,
				labkit.ReadFile(filepath.Join(c.Bundle, "container.log")))
		}
	}
	t.Logf("the container's mount table shows upperdir=%s", host)

	q := startQuelld(t, fmt.Sprintf(`
[[tenant]]
name = "liar"
  [tenant.match]
  cgroups = [%q]
  [tenant.container]
  disk = { bytes = "8MiB" }
`, strings.TrimPrefix(c.Cgroup, "/")))
	var v []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		cv, ok := q.containerAt(c.Cgroup)
		if ok && cv.Tenant == "liar" && len(cv.Errors) > 0 {
			v = cv.Errors
			break
		}
	}
	time.Sleep(2 * time.Second) // a few more passes
	var ids []uint32
	for _, p := range []string{host, filepath.Join(host, "sub"), filepath.Join(host, "sub", "file")} {
		id, err := projquota.ProjectID(p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if id != 0 {
			t.Errorf("host %s was tagged with project %d from the container's own mount table", p, id)
		}
	}
	t.Logf("FIGURE layer host dir, sub, file projects=%v container errors=%q", ids, v)
	if !strings.Contains(strings.Join(v, " "), "outside the runtimes' storage") {
		t.Errorf("container errors %q, want the layer refused as outside the runtimes' storage", v)
	}
}
