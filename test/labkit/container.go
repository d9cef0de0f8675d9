package labkit

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ContainerSpec describes a container for StartContainer. Zero values get
// defaults: a random 64-hex ID, Name "c-<id12>", Args "sleep 3600"; for
// Containerd: K8sQoS "burstable", a random PodUID and SandboxID, Namespace
// "default", PodName "<Name>-pod".
type ContainerSpec struct {
	Runtime     Runtime
	ID          string
	Name        string
	Annotations map[string]string // OCI annotations in config.json
	Labels      map[string]string // Docker: Config.Labels in the store; others: extra annotations
	Args        []string
	K8sQoS      string // guaranteed, burstable, besteffort
	// OCI is the OCI runtime: "" for runc (Runc()), or "crun" (podman
	// with crun: state in /run/crun/<id>, crun's own format).
	OCI string
	// Caps are capabilities the container's process gets beyond labkit's
	// minimal set (CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE), e.g.
	// DockerDefaultCaps.
	Caps      []string
	PodUID    string
	PodName   string
	Namespace string
	SandboxID string
	// Sandbox makes a Containerd container the pod's sandbox (pause)
	// container, as containerd's CRI plugin marks it
	// (io.kubernetes.cri.container-type=sandbox).
	Sandbox bool
	// Limits the runtime sets in the OCI config, as docker run -m,
	// --cpus and --pids-limit do (0: none): memory.max (and
	// memory.swap.max = the same, Docker's default swap of twice the
	// memory), cpu.max QUOTA PERIOD (PERIOD 0: 100000), pids.max.
	MemoryBytes int64
	CPUQuota    int64
	CPUPeriod   uint64
	PidsLimit   int64
	// CPUShares is docker run --cpu-shares (0: none); runc turns it into
	// cpu.weight (262144 → 10000, the most).
	CPUShares uint64
}

// Container is a running runc container.
type Container struct {
	ID, Name  string
	Runtime   Runtime
	InitPID   int
	Cgroup    string // below the cgroup root, leading "/"
	CgroupDir string // absolute
	Bundle    string
	StateRoot string // runc --root; state.json is at StateRoot/ID/state.json (crun: status)
	Spec      ContainerSpec
	bin       string // the OCI runtime binary
}

// Runc is the runc binary StartContainer uses: $QUELL_LAB_RUNC or "runc".
func Runc() string {
	if r := os.Getenv("QUELL_LAB_RUNC"); r != "" {
		return r
	}
	return "runc"
}

// StartContainer starts a real runc container laid out as spec.Runtime lays
// out its containers (state root, bundle dir, cgroup, metadata), checks
// that its init process is in the expected cgroup, and returns it. Under
// systemd as PID 1 runc uses its systemd cgroup driver (a transient scope),
// otherwise the cgroupfs path. At cleanup the container is killed and
// deleted and its bundle and store entry removed.
func StartContainer(t testing.TB, spec ContainerSpec) *Container {
	t.Helper()
	if len(spec.Args) == 0 {
		spec.Args = []string{"sleep", "3600"}
	}
	p, err := place(&spec, "/run", "/var/lib")
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{ID: spec.ID, Name: spec.Name, Runtime: spec.Runtime, Cgroup: p.Cgroup,
		CgroupDir: filepath.Join(Root(), p.Cgroup), Bundle: p.Bundle, StateRoot: p.StateRoot, Spec: spec, bin: Runc()}
	if spec.OCI == "crun" {
		c.bin = "crun"
	}
	if err := os.MkdirAll(p.StateRoot, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeRootfs(p.Bundle, Busybox()); err != nil {
		t.Fatal(err)
	}
	systemd := systemdIsInit()
	cgroupsPath := p.Cgroup
	if systemd {
		cgroupsPath = p.SystemdPath
	}
	oci := ociSpec(spec, p, cgroupsPath)
	if spec.OCI == "crun" {
		oci.Version = "1.0.2" // crun 1.8 refuses newer spec versions ("unknown version specified")
	}
	if err := writeJSON(filepath.Join(p.Bundle, "config.json"), oci); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.remove(t) })

	args := []string{"--root", p.StateRoot}
	if systemd {
		args = append(args, "--systemd-cgroup")
	}
	pidFile := filepath.Join(p.Bundle, "init.pid")
	args = append(args, "run", "-d", "--pid-file", pidFile, "--bundle", p.Bundle, spec.ID)
	logPath := filepath.Join(p.Bundle, "container.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", c.bin, strings.Join(args, " "), err, ReadFile(logPath))
	}
	pid, err := strconv.Atoi(ReadFile(pidFile))
	if err != nil {
		t.Fatalf("container %s: bad pid file %s: %v", spec.ID, pidFile, err)
	}
	c.InitPID = pid
	if got := procCgroup(pid); got != p.Cgroup {
		t.Fatalf("container %s init %d is in cgroup %q, want %q", spec.ID, pid, got, p.Cgroup)
	}
	if spec.Runtime == Docker {
		entry := filepath.Join(DockerDataRoot(), "containers", spec.ID, "config.v2.json")
		if err := writeJSON(entry, dockerStoreEntry(spec, pid)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Stop kills and deletes the container (its cgroup goes with it) and
// removes its bundle and store entry, as its runtime does when it stops
// it; a container started again with the same spec.ID takes its place.
// Calling it again (or at cleanup) is harmless.
func (c *Container) Stop(t testing.TB) { c.remove(t) }

func (c *Container) remove(t testing.TB) {
	root := []string{"--root", c.StateRoot}
	_ = exec.Command(c.bin, append(root, "kill", c.ID, "KILL")...).Run()
	if out, err := exec.Command(c.bin, append(root, "delete", "--force", c.ID)...).CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "does not exist") && !strings.Contains(string(out), "not exist") {
		t.Errorf("cleanup: runc delete %s: %v\n%s", c.ID, err, out)
	}
	if err := os.RemoveAll(c.Bundle); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if c.Runtime == Docker {
		_ = os.RemoveAll(filepath.Join(DockerDataRoot(), "containers", c.ID))
	}
	if c.Runtime == Podman {
		_ = os.RemoveAll(filepath.Dir(c.Bundle))
	}
}

// procCgroup returns pid's cgroup v2 path from /proc/<pid>/cgroup.
func procCgroup(pid int) string {
	for _, line := range strings.Split(ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}

// systemdIsInit reports whether systemd is PID 1 (sd_booted's test).
func systemdIsInit() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// DockerDataRoot is where Docker keeps its store on this guest: the
// data-root of /etc/docker/daemon.json (StartEngine moves it to the XFS
// disk), else /var/lib/docker. Containers laid out as Docker's are entered
// there, as dockerd would, so quelld finds their names whichever tests ran
// before.
func DockerDataRoot() string {
	var cfg struct {
		DataRoot string `json:"data-root"`
	}
	if b, err := os.ReadFile("/etc/docker/daemon.json"); err == nil && json.Unmarshal(b, &cfg) == nil && filepath.IsAbs(cfg.DataRoot) {
		return cfg.DataRoot
	}
	return "/var/lib/docker"
}
