package labkit

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's containerd 1.6 started by its own unit (the lab masks it), and
// a container placed the way kubelet + containerd's CRI plugin (systemd
// cgroup driver) place one: runc's systemd driver, cgroup
// kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/
// cri-containerd-<id>.scope, namespace k8s.io, and the io.kubernetes.cri.*
// annotations the CRI plugin writes into the OCI spec. ctr has no image
// here: it runs a busybox rootfs directory (--rootfs).

// ContainerdEngine is containerd 1.6 driven by ctr.
const ContainerdEngine Engine = "containerd"

// CRIPod is the pod sandbox a CRI container belongs to.
type CRIPod struct {
	Namespace, Name, UID string
	QoS                  string // burstable | besteffort ("" = burstable)
}

// RunCRIContainer starts containerd (once per test binary) and runs
// `sleep 3600` as container name of pod in namespace k8s.io with the CRI
// plugin's annotations, under runc's systemd cgroup driver. It is killed
// and deleted at cleanup.
func RunCRIContainer(t testing.TB, pod CRIPod, name string) *RealContainer {
	t.Helper()
	if os.Getenv("QUELL_LAB") != "1" {
		t.Fatal("not in the lab (QUELL_LAB!=1): containerd runs only in the lab's systemd mode")
	}
	if err := startContainerd(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeRootfs(dir, Busybox()); err != nil {
		t.Fatal(err)
	}
	id, sandbox := randomID(), randomID()
	qos := pod.QoS
	if qos == "" {
		qos = "burstable"
	}
	slice := "kubepods-" + qos + "-pod" + strings.ReplaceAll(pod.UID, "-", "_") + ".slice"
	args := []string{"-n", "k8s.io", "run", "-d", "--rootfs", "--runc-systemd-cgroup",
		"--cgroup", slice + ":cri-containerd:" + id}
	for k, v := range map[string]string{
		"io.kubernetes.cri.container-type":    "container",
		"io.kubernetes.cri.container-name":    name,
		"io.kubernetes.cri.sandbox-id":        sandbox,
		"io.kubernetes.cri.sandbox-name":      pod.Name,
		"io.kubernetes.cri.sandbox-namespace": pod.Namespace,
		"io.kubernetes.cri.sandbox-uid":       pod.UID,
		"io.kubernetes.cri.image-name":        BusyboxImage,
	} {
		args = append(args, "--annotation", k+"="+v)
	}
	// --rootfs has no image config: no PATH in the process env, so argv[0] is absolute.
	args = append(args, filepath.Join(dir, "rootfs"), id, "/bin/sleep", "3600")
	if out, err := exec.Command("/usr/bin/ctr", args...).CombinedOutput(); err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("/usr/bin/ctr", "-n", "k8s.io", "task", "kill", "-s", "KILL", id).Run()
		time.Sleep(500 * time.Millisecond)
		_ = exec.Command("/usr/bin/ctr", "-n", "k8s.io", "task", "delete", "-f", id).Run()
		_ = exec.Command("/usr/bin/ctr", "-n", "k8s.io", "container", "delete", id).Run()
	})
	c := &RealContainer{Engine: ContainerdEngine, ID: id, Name: name}
	var last string
	for deadline := time.Now().Add(20 * time.Second); c.PID == 0; time.Sleep(200 * time.Millisecond) {
		out, _ := exec.Command("/usr/bin/ctr", "-n", "k8s.io", "task", "ls").CombinedOutput()
		last = string(out)
		for _, line := range strings.Split(last, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == id && f[2] == "RUNNING" {
				_, _ = fmt.Sscan(f[1], &c.PID)
			}
		}
		if c.PID == 0 && time.Now().After(deadline) {
			t.Fatalf("ctr task ls: %s not running after 20s:\n%s", id, last)
		}
	}
	c.Cgroup = procCgroup(c.PID)
	c.CgroupDir = filepath.Join(Root(), c.Cgroup)
	return c
}

func startContainerd() error {
	engineMu.Lock()
	defer engineMu.Unlock()
	if engineReady[ContainerdEngine] {
		return nil
	}
	if !systemdIsInit() {
		return fmt.Errorf("containerd needs the lab's systemd mode (bin/lab run --mode systemd)")
	}
	_ = os.Remove("/etc/systemd/system/containerd.service") // the lab's mask, in the guest's overlay
	if err := runCmd("systemctl", "daemon-reload"); err != nil {
		return err
	}
	if err := runCmd("systemctl", "start", "containerd.service"); err != nil {
		out, _ := exec.Command("journalctl", "-u", "containerd", "-n", "30", "--no-pager").CombinedOutput()
		return fmt.Errorf("start containerd: %w\n%s", err, out)
	}
	engineReady[ContainerdEngine] = true
	return nil
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
