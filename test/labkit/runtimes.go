package labkit

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// Runtime is a container manager whose on-host layout StartContainer copies.
type Runtime string

const (
	// Docker: runc state in /run/docker/runtime-runc/moby, cgroup
	// system.slice/docker-<id>.scope, store <data-root>/containers/<id> (DockerDataRoot).
	Docker Runtime = "docker"
	// Containerd as a Kubernetes CRI: state in /run/containerd/runc/k8s.io,
	// cgroup kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope.
	Containerd Runtime = "containerd"
	// Podman with runc: state in /run/runc, cgroup machine.slice/libpod-<id>.scope.
	Podman Runtime = "podman"
)

// placement is where a runtime puts one container.
type placement struct {
	StateRoot   string // runc --root
	Bundle      string
	Cgroup      string // below the cgroup root, leading "/"
	SystemdPath string // runc --systemd-cgroup form slice:prefix:name
	Annotations map[string]string
}

// place fills in defaults of s (ID, pod fields) and returns where the
// runtime would put it. runDir and libDir stand for /run and /var/lib.
func place(s *ContainerSpec, runDir, libDir string) (placement, error) {
	if s.ID == "" {
		s.ID = randomHex(32)
	}
	if s.OCI != "" && s.OCI != "crun" {
		return placement{}, fmt.Errorf("OCI runtime %q: want \"\" (runc) or \"crun\"", s.OCI)
	}
	if s.OCI == "crun" && s.Runtime != Podman {
		return placement{}, fmt.Errorf("OCI runtime crun: only with labkit.Podman")
	}
	if len(s.ID) != 64 || strings.Trim(s.ID, "0123456789abcdef") != "" {
		return placement{}, fmt.Errorf("container ID %q: want 64 lowercase hex digits", s.ID)
	}
	if s.Name == "" {
		s.Name = "c-" + s.ID[:12]
	}
	ann := map[string]string{}
	for k, v := range s.Annotations {
		ann[k] = v
	}
	var p placement
	switch s.Runtime {
	case Docker:
		p = placement{
			StateRoot:   filepath.Join(runDir, "docker/runtime-runc/moby"),
			Bundle:      filepath.Join(runDir, "containerd/io.containerd.runtime.v2.task/moby", s.ID),
			Cgroup:      "/system.slice/docker-" + s.ID + ".scope",
			SystemdPath: "system.slice:docker:" + s.ID,
		}
	case Containerd:
		// containerd's CRI plugin writes only its io.kubernetes.cri.* keys
		// (over any the pod supplied); other Annotations stand for pod
		// annotations passed through by the runtime handler's allow-list,
		// so a test can supply a hostile io.kubernetes.pod.namespace.
		if err := kubeDefaults(s); err != nil {
			return placement{}, err
		}
		uid := strings.ReplaceAll(s.PodUID, "-", "_")
		slices := "/kubepods.slice"
		pod := "kubepods-pod" + uid + ".slice"
		if s.K8sQoS != "guaranteed" {
			slices += "/kubepods-" + s.K8sQoS + ".slice"
			pod = "kubepods-" + s.K8sQoS + "-pod" + uid + ".slice"
		}
		p = placement{
			StateRoot:   filepath.Join(runDir, "containerd/runc/k8s.io"),
			Bundle:      filepath.Join(runDir, "containerd/io.containerd.runtime.v2.task/k8s.io", s.ID),
			Cgroup:      slices + "/" + pod + "/cri-containerd-" + s.ID + ".scope",
			SystemdPath: pod + ":cri-containerd:" + s.ID,
		}
		ctype := "container"
		if s.Sandbox {
			ctype = "sandbox"
		}
		for k, v := range map[string]string{
			"io.kubernetes.cri.container-type":    ctype,
			"io.kubernetes.cri.container-name":    s.Name,
			"io.kubernetes.cri.image-name":        "docker.io/library/busybox:latest",
			"io.kubernetes.cri.sandbox-id":        s.SandboxID,
			"io.kubernetes.cri.sandbox-name":      s.PodName,
			"io.kubernetes.cri.sandbox-namespace": s.Namespace,
			"io.kubernetes.cri.sandbox-uid":       s.PodUID,
		} {
			ann[k] = v
		}
	case Podman:
		p = placement{
			StateRoot:   filepath.Join(runDir, "runc"),
			Bundle:      filepath.Join(libDir, "containers/storage/overlay-containers", s.ID, "userdata"),
			Cgroup:      "/machine.slice/libpod-" + s.ID + ".scope",
			SystemdPath: "machine.slice:libpod:" + s.ID,
		}
		if s.OCI == "crun" {
			p.StateRoot = filepath.Join(runDir, "crun")
		}
		ann["io.container.manager"] = "libpod"
		ann["io.podman.annotations.name"] = s.Name
	default:
		return placement{}, fmt.Errorf("unknown runtime %q (labkit.Docker, labkit.Containerd or labkit.Podman)", s.Runtime)
	}
	if s.Runtime != Docker {
		for k, v := range s.Labels { // no separate label store: labels travel as annotations
			if _, set := ann[k]; !set {
				ann[k] = v
			}
		}
	}
	p.Annotations = ann
	return p, nil
}

func kubeDefaults(s *ContainerSpec) error {
	switch s.K8sQoS {
	case "":
		s.K8sQoS = "burstable"
	case "guaranteed", "burstable", "besteffort":
	default:
		return fmt.Errorf("K8sQoS %q: want guaranteed, burstable or besteffort", s.K8sQoS)
	}
	if s.PodUID == "" {
		h := randomHex(16)
		s.PodUID = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	if s.PodName == "" {
		s.PodName = s.Name + "-pod"
	}
	if s.SandboxID == "" {
		s.SandboxID = randomHex(32)
	}
	return nil
}

func randomHex(nbytes int) string {
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// HexID is a random 64-hex container ID that starts with prefix, so a
// policy glob can pick it ("fee1" for docker-fee1*.scope).
func HexID(prefix string) string {
	return (prefix + randomHex(32))[:64]
}
