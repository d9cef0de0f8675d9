//go:build lab

// The lab's own real-kernel tests: the guest is what the other real-kernel
// tests assume (pure cgroup v2, controllers enabled, cpu.max enforced) and
// labkit's containers land exactly where each runtime puts them.
package kernel

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

func TestLabControllersEnabled(t *testing.T) {
	labkit.Require(t)
	root := labkit.Root()
	avail := strings.Fields(labkit.ReadFile(filepath.Join(root, "cgroup.controllers")))
	enabled := strings.Fields(labkit.ReadFile(filepath.Join(root, "cgroup.subtree_control")))
	for _, c := range []string{"cpu", "memory", "io", "pids"} {
		if !slices.Contains(avail, c) || !slices.Contains(enabled, c) {
			t.Errorf("controller %s: available %v, enabled %v", c, avail, enabled)
		}
	}
	// A fresh child cgroup has the interface files quell writes.
	dir := labkit.NewCgroup(t, "lab-test/controllers")
	for _, f := range []string{"cpu.max", "memory.max", "memory.swap.max", "io.max", "pids.max", "cpu.pressure"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("child cgroup lacks %s: %v", f, err)
		}
	}
}

func TestLabCPUMaxHalfCPU(t *testing.T) {
	labkit.Require(t)
	dir := labkit.NewCgroup(t, "lab-test/cpu-half")
	if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte("50000 100000"), 0); err != nil {
		t.Fatal(err)
	}
	labkit.StartBusyLoop(t, dir)
	time.Sleep(500 * time.Millisecond) // let the first periods settle
	u0, err := labkit.CPUUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	w0 := time.Now()
	time.Sleep(4 * time.Second)
	u1, err := labkit.CPUUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	cpus := float64(u1-u0) / float64(time.Since(w0))
	t.Logf("FIGURE cpu.max 50000/100000: %.3f CPUs used (set 0.5, ratio %.3f)", cpus, cpus/0.5)
	if math.Abs(cpus-0.5) > 0.5*0.05 {
		t.Fatalf("busy loop under cpu.max \"50000 100000\" used %.3f CPUs, want 0.5 ±5%%", cpus)
	}
}

func TestLabContainers(t *testing.T) {
	labkit.Require(t)
	for _, spec := range []labkit.ContainerSpec{
		{Runtime: labkit.Docker, Name: "web-1", Labels: map[string]string{"tenant": "acme"}},
		{Runtime: labkit.Containerd, Name: "app", Namespace: "acme", PodName: "app-0", K8sQoS: "burstable"},
		{Runtime: labkit.Podman, Name: "db", Annotations: map[string]string{"tenant": "acme"}},
	} {
		t.Run(string(spec.Runtime), func(t *testing.T) {
			c := labkit.StartContainer(t, spec)
			procs := strings.Fields(labkit.ReadFile(filepath.Join(c.CgroupDir, "cgroup.procs")))
			if !slices.Contains(procs, strconv.Itoa(c.InitPID)) {
				t.Fatalf("init %d not in %s/cgroup.procs %v", c.InitPID, c.CgroupDir, procs)
			}
			if _, err := os.Stat(filepath.Join(c.StateRoot, c.ID, "state.json")); err != nil {
				t.Errorf("runc state not where %s keeps it: %v", spec.Runtime, err)
			}
			wantPrefix := map[labkit.Runtime]string{
				labkit.Docker:     "/system.slice/docker-",
				labkit.Containerd: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod",
				labkit.Podman:     "/machine.slice/libpod-",
			}[spec.Runtime]
			if !strings.HasPrefix(c.Cgroup, wantPrefix) || !strings.HasSuffix(c.Cgroup, c.ID+".scope") {
				t.Errorf("cgroup %s, want %s…%s.scope", c.Cgroup, wantPrefix, c.ID)
			}
			if spec.Runtime == labkit.Docker {
				b, err := os.ReadFile(filepath.Join("/var/lib/docker/containers", c.ID, "config.v2.json"))
				if err != nil || !strings.Contains(string(b), `"/web-1"`) || !strings.Contains(string(b), `"tenant": "acme"`) {
					t.Errorf("docker store entry: %s (%v)", b, err)
				}
			}
		})
	}
}
