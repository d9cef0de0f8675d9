//go:build lab

package systemd_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// observePolicy takes the Docker containers without limiting them: quell
// top must report what the kernel counts, whatever the limits.
const observePolicy = `
[[tenant]]
name = "docker"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
`

// TestTopAgreesWithKernel: a busy loop under `docker run --cpus 0.3` and a
// container holding 48 MiB of tmpfs, read three ways: the kernel's
// cpu.stat usage_usec (sampled every 5 ms by the test) and memory.current,
// quell top --once --json, and docker stats --no-stream. quell's CPU rate
// covers the window it reports (window_s, ending at its "at"); the kernel's
// rate is taken over exactly that window from the test's samples. quell
// must be within 5% of the kernel; docker stats is logged beside them (its
// own window over its own clock, and its memory leaves out inactive_file).
// quelld runs with interval = "3s" and no PSI wake-ups (a busy loop under
// its quota makes CPU pressure, and a woken pass shortens the window to
// 0.5–1 s), so a window holds 30 CPU periods and a few milliseconds between
// quelld's read and its timestamp stay far below 5%.
func TestTopAgreesWithKernel(t *testing.T) {
	must(t, os.MkdirAll("/etc/quell", 0o755))
	must(t, os.WriteFile("/etc/quell/quelld.toml", []byte("interval = \"3s\"\npressure_wakeups = false\n"), 0o644))
	t.Cleanup(func() { _ = os.Remove("/etc/quell/quelld.toml") })
	installQuelld(t, observePolicy)
	busy := labkit.RunReal(t, labkit.DockerEngine, "busy-1", []string{"--cpus", "0.3"}, "sh", "-c", "while :; do :; done")
	mem := labkit.RunReal(t, labkit.DockerEngine, "mem-1", []string{"-m", "128m"},
		"sh", "-c", "dd if=/dev/zero of=/dev/shm/hold bs=1M count=48 && exec sleep 3600")
	samples := sampleCPU(t, busy.CgroupDir, 5*time.Millisecond)
	// Let the busy loop settle into its quota and the holder fill its tmpfs.
	time.Sleep(5 * time.Second)
	for round := 1; round <= 2; round++ {
		stats := dockerStats(t, "busy-1", "mem-1")
		time.Sleep(7 * time.Second) // two full passes
		v := topJSON(t)
		kernelMem := memCurrent(t, mem.CgroupDir)
		cb, cm := findContainer(v, busy.ID), findContainer(v, mem.ID)
		if cb == nil || cm == nil {
			t.Fatalf("quell top lacks busy-1 (%v) or mem-1 (%v)", cb != nil, cm != nil)
		}
		end := cb.Usage.At
		begin := end.Add(-time.Duration(cb.Usage.Window * float64(time.Second)))
		kernelCPU, err := samples.rate(begin, end)
		if err != nil {
			t.Fatalf("round %d: quell's window %s..%s (%.3fs): %v", round, begin.Format("15:04:05.000"), end.Format("15:04:05.000"), cb.Usage.Window, err)
		}
		dCPU, dMem := stats["busy-1"].cpus, stats["mem-1"].mem
		t.Logf("FIGURE top-vs-kernel round %d cpu (busy-1, --cpus 0.3) over quell's %.3fs window: kernel %.4f quell %.4f (%+.1f%%) docker-stats %.4f (%+.1f%%, its own window)",
			round, cb.Usage.Window, kernelCPU, cb.Usage.CPUs, pct(cb.Usage.CPUs, kernelCPU), dCPU, pct(dCPU, kernelCPU))
		t.Logf("FIGURE top-vs-kernel round %d memory (mem-1, 48MiB tmpfs): kernel memory.current %d quell %d (%+.1f%%) docker-stats %d (%+.1f%%) (%s)",
			round, kernelMem, cm.Usage.MemoryBytes, pct(float64(cm.Usage.MemoryBytes), float64(kernelMem)),
			dMem, pct(float64(dMem), float64(kernelMem)), stats["mem-1"].raw)
		if cb.Usage.Window < 2.5 {
			t.Errorf("round %d: quell's rate window is %.3fs, want a full pass (3s interval)", round, cb.Usage.Window)
		}
		if math.Abs(pct(cb.Usage.CPUs, kernelCPU)) > 5 {
			t.Errorf("round %d: quell says busy-1 uses %.4f CPUs, the kernel %.4f over the same window", round, cb.Usage.CPUs, kernelCPU)
		}
		if math.Abs(pct(float64(cm.Usage.MemoryBytes), float64(kernelMem))) > 5 {
			t.Errorf("round %d: quell says mem-1 holds %d B, memory.current %d", round, cm.Usage.MemoryBytes, kernelMem)
		}
	}
}

// cpuSeries is usage_usec read at known times.
type cpuSeries struct {
	mu sync.Mutex
	at []time.Time
	us []int64
}

// sampleCPU reads dir's usage_usec every step until the test ends.
func sampleCPU(t *testing.T, dir string, step time.Duration) *cpuSeries {
	s := &cpuSeries{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			b, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
			now := time.Now()
			if err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
						if n, err := strconv.ParseInt(v, 10, 64); err == nil {
							s.mu.Lock()
							s.at, s.us = append(s.at, now), append(s.us, n)
							s.mu.Unlock()
						}
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(step):
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return s
}

// usAt interpolates usage_usec at time x between the samples around it.
func (s *cpuSeries) usAt(x time.Time) (float64, error) {
	i := sort.Search(len(s.at), func(i int) bool { return !s.at[i].Before(x) })
	if i == 0 || i == len(s.at) {
		return 0, fmt.Errorf("no kernel samples around %s (%d samples)", x.Format("15:04:05.000"), len(s.at))
	}
	t0, t1 := s.at[i-1], s.at[i]
	if t1.Sub(t0) > 50*time.Millisecond {
		return 0, fmt.Errorf("kernel samples %s apart around %s", t1.Sub(t0), x.Format("15:04:05.000"))
	}
	f := float64(x.Sub(t0)) / float64(t1.Sub(t0))
	return float64(s.us[i-1]) + f*float64(s.us[i]-s.us[i-1]), nil
}

// rate is the kernel's CPUs between begin and end.
func (s *cpuSeries) rate(begin, end time.Time) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u0, err := s.usAt(begin)
	if err != nil {
		return 0, err
	}
	u1, err := s.usAt(end)
	if err != nil {
		return 0, err
	}
	return (u1 - u0) / 1e6 / end.Sub(begin).Seconds(), nil
}

func pct(got, want float64) float64 {
	if want == 0 {
		return math.Inf(1)
	}
	return (got - want) / want * 100
}

func memCurrent(t *testing.T, dir string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "memory.current"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type dockerStat struct {
	cpus float64 // CPUPerc / 100
	mem  int64   // the used part of MemUsage
	raw  string
}

// dockerStats runs docker stats --no-stream as a user would and parses
// its CPU % and memory usage.
func dockerStats(t *testing.T, names ...string) map[string]dockerStat {
	t.Helper()
	out, err := labkit.EngineCmd(labkit.DockerEngine, append([]string{"stats", "--no-stream", "--format", "{{json .}}"}, names...)...)
	if err != nil {
		t.Fatalf("docker stats: %v\n%s", err, out)
	}
	res := map[string]dockerStat{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var s struct{ Name, CPUPerc, MemUsage string }
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("docker stats line %q: %v", line, err)
		}
		var d dockerStat
		d.raw = "CPUPerc " + s.CPUPerc + " MemUsage " + s.MemUsage
		p, err := strconv.ParseFloat(strings.TrimSuffix(s.CPUPerc, "%"), 64)
		if err != nil {
			t.Fatalf("docker stats CPUPerc %q: %v", s.CPUPerc, err)
		}
		d.cpus = p / 100
		used, _, _ := strings.Cut(s.MemUsage, " / ")
		if d.mem, err = parseDockerSize(used); err != nil {
			t.Fatalf("docker stats MemUsage %q: %v", s.MemUsage, err)
		}
		res[s.Name] = d
	}
	return res
}

// parseDockerSize reads docker's units.BytesSize output ("48.2MiB").
func parseDockerSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			return int64(f * u.mult), nil
		}
	}
	return 0, fmt.Errorf("no unit in %q", s)
}

// podmanShapedPolicy caps each podman container tighter than -m 64m and
// gives it an egress limit on its host veth.
const podmanShapedPolicy = `
[[tenant]]
name = "podman"
  [tenant.match]
  cgroups = ["machine.slice/libpod-*.scope"]
  [tenant.container]
  memory = "24MiB"
  pids = 50
  net = { egress = "10Mbit" }
`

// TestPodmanContainerFoundLimitedShaped: `podman run -d --name ci-1
// --label team=ci -m 64m` on podman 4.3 + crun with Debian's default
// network: quelld finds it (PID, name, labels from podman's API), limits it
// below podman's own -m, and shapes its host veth.
func TestPodmanContainerFoundLimitedShaped(t *testing.T) {
	installQuelld(t, podmanShapedPolicy)
	p := labkit.RunReal(t, labkit.PodmanEngine, "ci-1", []string{"-m", "64m", "--label", "team=ci"})
	netInfo, _ := labkit.EngineCmd(labkit.PodmanEngine, "info", "--format", "{{.Host.NetworkBackend}}")
	t.Logf("FIGURE podman cgroup %s network backend %s", p.Cgroup, strings.TrimSpace(netInfo))
	for file, want := range map[string]string{"memory.max": "25165824", "pids.max": "50"} {
		if err := p.WaitCgroupFile(file, want, 15*time.Second); err != nil {
			t.Error(err)
		}
	}
	var c *view.ContainerView
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		c = findContainer(topJSON(t), p.ID)
		if c != nil && c.Labels["team"] != "" || time.Now().After(deadline) {
			break
		}
	}
	if c == nil {
		t.Fatalf("podman container ci-1 (%s) not in quell's view", p.Cgroup)
	}
	t.Logf("FIGURE podman ci-1 in quell: tenant %q name %q team=%q pid %d (podman says %d) errors %v",
		c.Tenant, c.Name, c.Labels["team"], c.PID, p.PID, c.Errors)
	if c.Tenant != "podman" || c.PID != p.PID || c.Name != "ci-1" || c.Labels["team"] != "ci" {
		t.Errorf("quell has tenant %q, PID %d (podman: %d), name %q, team=%q", c.Tenant, c.PID, p.PID, c.Name, c.Labels["team"])
	}
	// The host side of the container's eth0: its peer ifindex, read in
	// the container.
	out, err := p.Exec("cat", "/sys/class/net/eth0/iflink")
	if err != nil {
		t.Fatalf("podman exec ci-1 cat /sys/class/net/eth0/iflink: %v\n%s (the container has no eth0: podman's network did not come up)", err, out)
	}
	veth := ifaceByIndex(t, strings.TrimSpace(out))
	var qd, flt string
	ok := waitFor(20*time.Second, func() bool {
		qd, _ = run(t, "/usr/sbin/tc", "qdisc", "show", "dev", veth)
		flt, _ = run(t, "/usr/sbin/tc", "filter", "show", "dev", veth, "ingress")
		return strings.Contains(qd, "clsact") && strings.Contains(flt, "mirred")
	})
	t.Logf("FIGURE podman ci-1 host veth %s qdiscs:\n%s\ningress filters:\n%s", veth, qd, flt)
	if !ok {
		c = findContainer(topJSON(t), p.ID)
		t.Errorf("podman ci-1's host veth %s is not shaped after 20s (quell errors %v)", veth, c.Errors)
	}
}

func ifaceByIndex(t *testing.T, idx string) string {
	t.Helper()
	ds, _ := os.ReadDir("/sys/class/net")
	for _, d := range ds {
		b, _ := os.ReadFile(filepath.Join("/sys/class/net", d.Name(), "ifindex"))
		if strings.TrimSpace(string(b)) == idx {
			return d.Name()
		}
	}
	t.Fatalf("no host interface with ifindex %s", idx)
	return ""
}

// k8sPolicy takes pods of namespace shop by the namespace containerd's CRI
// plugin recorded, whatever cgroup or name they have.
const k8sPolicy = `
[[tenant]]
name = "shop"
  [tenant.match]
  trusted_labels = { "io.kubernetes.pod.namespace" = "shop" }
  [tenant.container]
  memory = "40MiB"
`

// TestContainerdK8sContainerIsKubernetes: a container placed by real
// containerd 1.6 + runc exactly where kubelet (systemd driver) and the CRI
// plugin put one, with the CRI annotations: quell classifies it as
// Kubernetes with trusted namespace/pod/container keys, and the tenant
// matching the pod namespace takes and limits it.
func TestContainerdK8sContainerIsKubernetes(t *testing.T) {
	installQuelld(t, k8sPolicy)
	pod := labkit.CRIPod{Namespace: "shop", Name: "web-0", UID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}
	c := labkit.RunCRIContainer(t, pod, "app")
	wantCg := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice/cri-containerd-" + c.ID + ".scope"
	t.Logf("FIGURE containerd k8s.io container cgroup %s pid %d", c.Cgroup, c.PID)
	if c.Cgroup != wantCg {
		t.Fatalf("containerd put the container at %s, want %s", c.Cgroup, wantCg)
	}
	if err := c.WaitCgroupFile("memory.max", "41943040", 20*time.Second); err != nil {
		t.Error(err)
	}
	var cv *view.ContainerView
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Second) {
		cv = findContainer(topJSON(t), c.ID)
		if cv != nil && cv.Tenant != "" || time.Now().After(deadline) {
			break
		}
	}
	if cv == nil {
		t.Fatalf("containerd container %s (%s) not in quell's view", c.ID, c.Cgroup)
	}
	t.Logf("FIGURE containerd k8s in quell: runtime %q tenant %q (%s) name %q pid %d (ctr says %d) trusted %v sources %v meta_error %q",
		cv.Runtime, cv.Tenant, cv.MatchReason, cv.Name, cv.PID, c.PID, cv.TrustedLabels, cv.Sources, cv.MetaErr)
	want := map[string]string{
		"io.kubernetes.pod.namespace":  "shop",
		"io.kubernetes.pod.name":       "web-0",
		"io.kubernetes.container.name": "app",
		"io.kubernetes.pod.uid":        pod.UID,
	}
	for k, v := range want {
		if cv.TrustedLabels[k] != v {
			t.Errorf("trusted %s = %q, want %q", k, cv.TrustedLabels[k], v)
		}
	}
	if cv.Runtime != "containerd" || cv.Tenant != "shop" || cv.PID != c.PID || cv.Name != "web-0/app" || cv.Sandbox {
		t.Errorf("quell has runtime %q tenant %q pid %d (ctr: %d) name %q sandbox %v", cv.Runtime, cv.Tenant, cv.PID, c.PID, cv.Name, cv.Sandbox)
	}
	out, _ := quell(t, "explain", c.ID[:12])
	t.Logf("quell explain %s:\n%s", c.ID[:12], out)
}
