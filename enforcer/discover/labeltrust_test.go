package discover

import (
	"path/filepath"
	"testing"
)

// A pod that supplies its own io.kubernetes.pod.namespace (a pod annotation
// let through by the runtime handler) does not beat the namespace
// containerd's CRI plugin recorded; only the CRI's copy is trusted.
func TestReadMetaCRINamespaceBeatsASuppliedOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: dir, Docker: filepath.Join(dir, "none")}
	writeFile(t, filepath.Join(dir, "containerd/runc/k8s.io", idB, "state.json"),
		`{"id":"`+idB+`","init_process_pid":0,"config":{"cgroups":{"path":"/kubepods/burstable/pod1/`+idB+`"},"labels":["bundle=/x",`+
			`"io.kubernetes.pod.namespace=payments","io.kubernetes.cri.sandbox-namespace=evil",`+
			`"io.kubernetes.cri.sandbox-name=job-1","io.kubernetes.cri.container-name=worker","team=payments"]}}`)
	m, err := r.ReadMeta(Found{ID: idB, Runtime: "containerd", Cgroup: "kubepods/burstable/pod1/" + idB})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Labels["io.kubernetes.pod.namespace"]; got != "evil" {
		t.Errorf("Labels[io.kubernetes.pod.namespace] = %q, want the CRI's %q", got, "evil")
	}
	if got := m.Trusted["io.kubernetes.pod.namespace"]; got != "evil" {
		t.Errorf("Trusted[io.kubernetes.pod.namespace] = %q, want %q", got, "evil")
	}
	if _, ok := m.Trusted["team"]; ok {
		t.Errorf("a supplied annotation is trusted: %v", m.Trusted)
	}
}

// Docker's labels and a runc state's annotations outside containerd's root
// are the creator's: none is trusted, whatever its key.
func TestReadMetaDockerLabelsAreNotTrusted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: dir, Docker: filepath.Join(dir, "docker")}
	writeFile(t, filepath.Join(dir, "docker/runtime-runc/moby", idA, "state.json"),
		`{"id":"`+idA+`","init_process_pid":0,"config":{"cgroups":{"path":"/docker/`+idA+`"},"labels":["bundle=/b","io.kubernetes.cri.sandbox-namespace=payments"]}}`)
	writeFile(t, filepath.Join(dir, "docker/containers", idA, "config.v2.json"),
		`{"Name":"/x","Config":{"Labels":{"io.kubernetes.pod.namespace":"payments"}}}`)
	m, err := r.ReadMeta(Found{ID: idA, Runtime: "docker", Cgroup: "docker/" + idA})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trusted) != 0 {
		t.Errorf("Trusted = %v, want none for Docker", m.Trusted)
	}
	if m.Labels["io.kubernetes.pod.namespace"] != "payments" {
		t.Errorf("the label is still matchable by plain labels: %v", m.Labels)
	}
}

// Real podman + crun (systemd driver) runs the container in a "container"
// child of its scope and crun's status names that child: the scope is
// still the container's cgroup, and a child under another scope is not.
func TestReadMetaCrunUnderPodmansScope(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: filepath.Join(dir, "run"), Proc: filepath.Join(dir, "proc")}
	cg := "machine.slice/libpod-" + idC + ".scope"
	status := func(path string) string {
		return `{"pid": 0, "cgroup-path": "` + path + `", "scope": "libpod-` + idC + `.scope", "systemd-cgroup": true, "bundle": "/b"}`
	}
	writeFile(t, filepath.Join(r.Run, "crun", idC, "status"), status("/"+cg+"/container"))
	if m, err := r.ReadMeta(Found{ID: idC, Runtime: "podman", Cgroup: cg}); err != nil || m.Cgroup != cg {
		t.Fatalf("ReadMeta = %+v, %v; want the scope %s", m, err, cg)
	}
	writeFile(t, filepath.Join(r.Run, "crun", idC, "status"), status("/machine.slice/other.scope/container"))
	if _, err := r.ReadMeta(Found{ID: idC, Runtime: "podman", Cgroup: cg}); err == nil {
		t.Fatal("a status naming another scope's child was accepted")
	}
}
