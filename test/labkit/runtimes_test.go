package labkit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quell-dev/quell/internal/testenv"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestPlaceMatchesEachRuntimesLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec                          ContainerSpec
		root, bundle, cgroup, systemd string
		ann                           map[string]string
	}{
		{ContainerSpec{Runtime: Docker, ID: testID, Name: "web-1", Labels: map[string]string{"tenant": "acme"}},
			"/run/docker/runtime-runc/moby", "/run/containerd/io.containerd.runtime.v2.task/moby/" + testID,
			"/system.slice/docker-" + testID + ".scope", "system.slice:docker:" + testID, map[string]string{}},
		{ContainerSpec{Runtime: Containerd, ID: testID, Name: "app", PodUID: "1111-22", Namespace: "acme", PodName: "app-0"},
			"/run/containerd/runc/k8s.io", "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + testID,
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1111_22.slice/cri-containerd-" + testID + ".scope",
			"kubepods-burstable-pod1111_22.slice:cri-containerd:" + testID,
			map[string]string{"io.kubernetes.cri.sandbox-namespace": "acme",
				"io.kubernetes.cri.sandbox-name": "app-0", "io.kubernetes.cri.container-name": "app"}},
		{ContainerSpec{Runtime: Containerd, ID: testID, K8sQoS: "guaranteed", PodUID: "u"},
			"/run/containerd/runc/k8s.io", "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + testID,
			"/kubepods.slice/kubepods-podu.slice/cri-containerd-" + testID + ".scope",
			"kubepods-podu.slice:cri-containerd:" + testID, map[string]string{"io.kubernetes.cri.sandbox-namespace": "default"}},
		{ContainerSpec{Runtime: Podman, ID: testID, Name: "db", Labels: map[string]string{"tenant": "acme"}},
			"/run/runc", "/var/lib/containers/storage/overlay-containers/" + testID + "/userdata",
			"/machine.slice/libpod-" + testID + ".scope", "machine.slice:libpod:" + testID,
			map[string]string{"io.container.manager": "libpod", "tenant": "acme"}},
	}
	for _, tt := range tests {
		s := tt.spec
		p, err := place(&s, "/run", "/var/lib")
		if err != nil {
			t.Fatalf("%s: %v", tt.spec.Runtime, err)
		}
		if p.StateRoot != tt.root || p.Bundle != tt.bundle || p.Cgroup != tt.cgroup || p.SystemdPath != tt.systemd {
			t.Errorf("%s: got %+v", tt.spec.Runtime, p)
		}
		for k, v := range tt.ann {
			if p.Annotations[k] != v {
				t.Errorf("%s: annotation %s = %q, want %q", tt.spec.Runtime, k, p.Annotations[k], v)
			}
		}
	}
}

func TestPlaceDefaultsAndErrors(t *testing.T) {
	t.Parallel()
	s := ContainerSpec{Runtime: Containerd}
	p, err := place(&s, "/run", "/var/lib")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ID) != 64 || s.K8sQoS != "burstable" || s.PodUID == "" || !strings.Contains(p.Cgroup, s.ID) {
		t.Fatalf("defaults not filled: %+v %+v", s, p)
	}
	for _, bad := range []ContainerSpec{{Runtime: "lxc"}, {Runtime: Docker, ID: "abc"},
		{Runtime: Containerd, K8sQoS: "gold"}} {
		if _, err := place(&bad, "/run", "/var/lib"); err == nil {
			t.Errorf("place(%+v) succeeded", bad)
		}
	}
}

func TestBundleFiles(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(Busybox()); err != nil {
		testenv.SkipUnlessCI(t, "no static busybox on this host; the lab has one")
	}
	dir := t.TempDir()
	if err := writeRootfs(dir, Busybox()); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "rootfs/bin/sleep")); err != nil || target != "busybox" {
		t.Fatalf("rootfs/bin/sleep -> %q, %v", target, err)
	}
	s := ContainerSpec{Runtime: Docker, ID: testID, Name: "web-1", Args: []string{"sleep", "1"},
		Annotations: map[string]string{"a": "b"}, Labels: map[string]string{"tenant": "acme"}}
	p, _ := place(&s, "/run", "/var/lib")
	if err := writeJSON(filepath.Join(dir, "config.json"), ociSpec(s, p, p.Cgroup)); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Annotations map[string]string
		Linux       struct{ CgroupsPath string }
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Annotations["a"] != "b" || cfg.Linux.CgroupsPath != p.Cgroup {
		t.Fatalf("config.json = %s (%v)", b, err)
	}
	entry := dockerStoreEntry(s, 42)
	if entry["Name"] != "/web-1" || entry["Config"].(map[string]any)["Labels"].(map[string]string)["tenant"] != "acme" {
		t.Fatalf("docker store entry = %v", entry)
	}
}

func TestHexID(t *testing.T) {
	t.Parallel()
	a, b := HexID("fee1"), HexID("fee1")
	if len(a) != 64 || !strings.HasPrefix(a, "fee1") || strings.Trim(a, "0123456789abcdef") != "" || a == b {
		t.Errorf("HexID(fee1) = %q, then %q; want two different 64-hex IDs starting with fee1", a, b)
	}
}
