//go:build lab

package systemd_test

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// imageQuelldConfig is deploy/kubernetes/configmap.yaml's quelld.toml.
const imageQuelldConfig = `proc_root = "/host/proc"
metrics_addr = ":9477"
`

// imagePolicy takes every podman container by its cgroup, as a catch-all
// over kubepods.slice would: quelld's own container is one of them and
// must be left alone.
const imagePolicy = `
[[tenant]]
name = "pods"
  [tenant.match]
  cgroups = ["machine.slice/libpod-*.scope"]
  [tenant.container]
  memory = "40MiB"
  pids = 60
`

// imageRef returns the image ID of the docker-archive at path (its config
// digest, which podman accepts as a reference) and its tag.
func imageRef(t *testing.T, path string) (id, tag string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (make image writes it)", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no manifest.json", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct {
			Config   string
			RepoTags []string
		}
		if err := json.NewDecoder(tr).Decode(&m); err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 {
			t.Fatalf("%s manifest.json: %v %+v", path, err, m)
		}
		return strings.TrimPrefix(m[0].Config, "sha256:"), m[0].RepoTags[0]
	}
}

// TestImageRunsAsTheDaemonSet loads bin/image/quell.tar (make image) into
// real podman and runs it as deploy/kubernetes/daemonset.yaml runs it: the
// host's PID and network namespaces, privileged with the host's cgroup
// namespace (what containerd and CRI-O give a privileged pod; podman's
// --privileged alone does not), /sys/fs/cgroup, /run, /var/lib/quell and
// /proc (at /host/proc) from the host, quelld.toml and the policy mounted
// read-only. It must limit another podman container, leave its own
// container alone, and `quell status` on the host must find it at
// /run/quell/quelld.sock.
func TestImageRunsAsTheDaemonSet(t *testing.T) {
	// What installQuelld does for the unit, before Require checks them:
	// keep the controllers enabled at the root and in machine.slice
	// (systemd trims them when earlier tests' scopes go).
	_, _ = run(t, "systemctl", "set-property", "--runtime", "machine.slice",
		"CPUAccounting=yes", "IOAccounting=yes", "MemoryAccounting=yes", "TasksAccounting=yes")
	_ = os.WriteFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"), []byte("+cpu +io +memory +pids"), 0)
	labkit.Require(t)
	labkit.StartEngine(t, labkit.PodmanEngine)

	archive := filepath.Join(os.Getenv("QUELL_LAB_BIN"), "image", "quell.tar")
	id, tag := imageRef(t, archive)
	start := time.Now()
	out, err := labkit.EngineCmd(labkit.PodmanEngine, "load", "-i", archive)
	if err != nil {
		t.Fatalf("podman load -i %s: %v\n%s", archive, err, out)
	}
	st, _ := os.Stat(archive)
	t.Logf("FIGURE image podman-load %v, %d bytes, tag %s, id %.12s: %s", time.Since(start).Round(time.Millisecond), st.Size(), tag, id, strings.TrimSpace(out))
	labels, err := labkit.EngineCmd(labkit.PodmanEngine, "image", "inspect", "-f",
		`{{index .Labels "org.opencontainers.image.version"}} {{index .Labels "org.opencontainers.image.revision"}}`, id)
	if err != nil || len(strings.Fields(labels)) != 2 {
		t.Errorf("image labels version and revision: %q %v", labels, err)
	}
	t.Logf("image version, revision: %s", strings.TrimSpace(labels))

	// The ConfigMaps, as files on the host.
	cm := t.TempDir()
	must(t, os.WriteFile(filepath.Join(cm, "quelld.toml"), []byte(imageQuelldConfig), 0o644))
	must(t, os.MkdirAll(filepath.Join(cm, "policy.d"), 0o755))
	must(t, os.WriteFile(filepath.Join(cm, "policy.d", "10-tenants.toml"), []byte(imagePolicy), 0o644))
	must(t, os.MkdirAll("/var/lib/quell", 0o755))
	_ = os.Remove(quelldSocket)

	args := []string{"run", "-d", "--name", "quelld",
		"--pid=host", "--network=host", "--privileged", "--cgroupns=host",
		"-v", "/sys/fs/cgroup:/sys/fs/cgroup",
		"-v", "/run:/run",
		"-v", "/var/lib/quell:/var/lib/quell",
		"-v", "/proc:/host/proc",
		"-v", filepath.Join(cm, "quelld.toml") + ":/etc/quell/quelld.toml:ro",
		"-v", filepath.Join(cm, "policy.d") + ":/etc/quell/policy.d:ro",
		id, "--config", "/etc/quell/quelld.toml", "--log-json"}
	start = time.Now()
	out, err = labkit.EngineCmd(labkit.PodmanEngine, args...)
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := labkit.EngineCmd(labkit.PodmanEngine, "logs", "--tail", "40", "quelld")
			t.Logf("podman logs quelld:\n%s", logs)
		}
		_, _ = labkit.EngineCmd(labkit.PodmanEngine, "stop", "-t", "20", "quelld")
		_, _ = labkit.EngineCmd(labkit.PodmanEngine, "rm", "-f", "quelld")
	})
	if !waitFor(60*time.Second, func() bool { _, err := os.Stat(quelldSocket); return err == nil }) {
		t.Fatalf("no %s 60 s after podman run", quelldSocket)
	}
	t.Logf("FIGURE image podman-run-to-socket %v", time.Since(start).Round(time.Millisecond))
	self, err := labkit.InspectReal(labkit.PodmanEngine, "quelld")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quelld's container: %s, init PID %d on the host", self.Cgroup, self.PID)

	// Another container, started after quelld: limited by the image's quelld.
	web := labkit.RunReal(t, labkit.PodmanEngine, "web-1", nil)
	start = time.Now()
	for file, want := range map[string]string{"memory.max": "41943040", "pids.max": "60"} {
		if err := web.WaitCgroupFile(file, want, 30*time.Second); err != nil {
			t.Error(err)
		}
	}
	t.Logf("FIGURE image container-limited %v after podman run returned (%s)", time.Since(start).Round(time.Millisecond), web.Cgroup)

	// quell on the host finds the containerized quelld by its socket.
	out, code := quell(t, "status")
	t.Logf("quell status (host):\n%s", out)
	if code != 0 || !strings.Contains(out, "quelld:     running, enforcing") || !strings.Contains(out, "policy:     ok: 1 file, 1 tenant") {
		t.Errorf("quell status on the host (exit %d) does not show the image's quelld running a valid policy", code)
	}
	v := topJSON(t)
	if c := findContainer(v, web.ID); c == nil || c.Tenant != "pods" {
		t.Errorf("quell top on the host does not list web-1 in tenant pods: %+v", c)
	} else {
		t.Logf("FIGURE image web-1 in quell top: tenant %s name %q pid %d (podman says %d)", c.Tenant, c.Name, c.PID, web.PID)
	}

	// Its own container matches the catch-all but is never limited:
	// quelld knows its cgroup because it shares the host's cgroup
	// namespace. podman sets no memory limit; pids.max is systemd's
	// DefaultTasksMax for the scope, not the policy's 60.
	time.Sleep(3 * time.Second)
	mem := strings.TrimSpace(labkit.ReadFile(filepath.Join(self.CgroupDir, "memory.max")))
	pids := strings.TrimSpace(labkit.ReadFile(filepath.Join(self.CgroupDir, "pids.max")))
	t.Logf("FIGURE image quelld's own container: memory.max %s pids.max %s (policy: 41943040, 60)", mem, pids)
	if mem != "max" || pids == "60" {
		t.Errorf("quelld's own container %s: memory.max %q, pids.max %q: limited by its own policy", self.Cgroup, mem, pids)
	}
	if c := findContainer(v, self.ID); c != nil && c.Tenant != "" {
		t.Errorf("quelld's own container is in tenant %q", c.Tenant)
	}
}
