package discover

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	idA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	idC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	idD = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		rel, id, runtime string
	}{
		{"system.slice/docker-" + idA + ".scope", idA, "docker"},
		{"docker/" + idA, idA, "docker"},
		{"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-" + idB + ".scope", idB, "containerd"},
		{"kubepods.slice/kubepods-pod1.slice/cri-containerd-" + idB + ".scope", idB, "containerd"},
		{"kubepods/besteffort/pod1234/" + idB, idB, "containerd"},
		{"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice/crio-" + idC + ".scope", idC, "cri-o"},
		{"machine.slice/libpod-" + idC + ".scope", idC, "podman"},
		{"libpod_parent/libpod-" + idC, idC, "podman"},
		{`machine.slice/machine-web\x2d1.scope`, "web-1", "nspawn"},
		{"lxc.payload.c1", "c1", "lxc"},
	}
	for _, c := range cases {
		f, ok := Classify(c.rel)
		if !ok || f.ID != c.id || f.Runtime != c.runtime || f.Cgroup != c.rel {
			t.Errorf("Classify(%q) = %+v, %v; want id %s runtime %s", c.rel, f, ok, c.id, c.runtime)
		}
	}
	for _, rel := range []string{
		"system.slice", "init.scope", "system.slice/docker.service",
		"machine.slice/libpod-conmon-" + idC + ".scope",
		"system.slice/docker-" + idA[:12] + ".scope", // short IDs are not Docker's
		"user.slice/" + idA,                          // bare hex outside docker/kubepods
		"kubepods.slice/kubepods-burstable.slice",
		"lxc.payload.",
	} {
		if f, ok := Classify(rel); ok {
			t.Errorf("Classify(%q) = %+v, want not a container", rel, f)
		}
	}
}

func mkdirs(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, r := range rels {
		if err := os.MkdirAll(filepath.Join(root, r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWalkFindsContainersNotNested(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dock := "system.slice/docker-" + idA + ".scope"
	kube := "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-" + idB + ".scope"
	mkdirs(t, root,
		dock+"/init.scope", // systemd inside the container: nested, not a container of ours
		kube,
		"system.slice/docker-"+idD+".scope/docker-"+idC+".scope", // docker-in-docker: only the outer one
		"quell.slice/quelld.service",
		"init.scope",
	)
	got, err := Walk(root, func(rel string) bool { return rel == "quell.slice/quelld.service" })
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, f := range got {
		rels = append(rels, f.Cgroup)
	}
	sort.Strings(rels)
	want := []string{kube, dock, "system.slice/docker-" + idD + ".scope"}
	sort.Strings(want)
	if strings.Join(rels, ",") != strings.Join(want, ",") {
		t.Fatalf("Walk = %v, want %v", rels, want)
	}
}

func TestWalkMissingRoot(t *testing.T) {
	t.Parallel()
	got, err := Walk(filepath.Join(t.TempDir(), "gone"), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Walk(missing) = %v, %v; want nothing and no error (it vanished)", got, err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadMetaDocker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: filepath.Join(dir, "run"), Docker: filepath.Join(dir, "docker"), Proc: filepath.Join(dir, "proc")}
	writeFile(t, filepath.Join(r.Run, "docker/runtime-runc/moby", idA, "state.json"),
		`{"id":"`+idA+`","init_process_pid":4242,"init_process_start":777,"config":{"cgroups":{"parent":"system.slice","scope_prefix":"docker","name":"`+idA+`"},"labels":["bundle=/b/`+idA+`","org.example=1"]}}`)
	writeFile(t, filepath.Join(r.Proc, "4242/cgroup"), "0::/system.slice/docker-"+idA+".scope\n")
	writeFile(t, filepath.Join(r.Proc, "4242/stat"), "4242 (sleep) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 777 1000 10 0\n")
	writeFile(t, filepath.Join(r.Docker, "containers", idA, "config.v2.json"),
		`{"Name":"/acme-web","Config":{"Labels":{"team":"acme"}}}`)
	m, err := r.ReadMeta(Found{ID: idA, Runtime: "docker", Cgroup: "system.slice/docker-" + idA + ".scope"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "acme-web" || m.PID != 4242 || m.Bundle != "/b/"+idA || m.Labels["team"] != "acme" || m.Labels["org.example"] != "1" {
		t.Fatalf("ReadMeta = %+v", m)
	}
}

func TestReadMetaContainerdDerivesKubernetesKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: dir, Docker: filepath.Join(dir, "none")}
	writeFile(t, filepath.Join(dir, "containerd/runc/k8s.io", idB, "state.json"),
		`{"id":"`+idB+`","init_process_pid":0,"config":{"cgroups":{"path":"/kubepods/burstable/pod1/`+idB+`"},"labels":["bundle=/x",`+
			`"io.kubernetes.cri.sandbox-namespace=batch","io.kubernetes.cri.sandbox-name=job-1","io.kubernetes.cri.container-name=worker"]}}`)
	m, err := r.ReadMeta(Found{ID: idB, Runtime: "containerd", Cgroup: "kubepods/burstable/pod1/" + idB})
	if err != nil {
		t.Fatal(err)
	}
	if m.Labels["io.kubernetes.pod.namespace"] != "batch" || m.Name != "job-1/worker" || m.Sandbox {
		t.Fatalf("ReadMeta = %+v", m)
	}
}

func TestReadMetaFallsBackToBundleAnnotations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	writeFile(t, filepath.Join(bundle, "config.json"), `{"ociVersion":"1.0.2","annotations":{"tenant":"ci"}}`)
	writeFile(t, filepath.Join(dir, "runc", idC, "state.json"),
		`{"id":"`+idC+`","config":{"cgroups":{"parent":"machine.slice","scope_prefix":"libpod","name":"`+idC+`"},"labels":["bundle=`+bundle+`"]}}`)
	m, err := Roots{Run: dir}.ReadMeta(Found{ID: idC, Runtime: "podman", Cgroup: "machine.slice/libpod-" + idC + ".scope"})
	if err != nil || m.Labels["tenant"] != "ci" {
		t.Fatalf("ReadMeta = %+v, %v", m, err)
	}
}

func TestReadMetaErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: dir}
	_, err := r.ReadMeta(Found{ID: idA, Runtime: "docker"})
	if !errors.Is(err, ErrNoState) || !strings.Contains(err.Error(), "docker/runtime-runc/moby/"+idA+"/state.json") {
		t.Fatalf("missing state: err = %v, want ErrNoState naming the path", err)
	}
	writeFile(t, filepath.Join(dir, "runc", idC, "state.json"), `{not json`)
	_, err = r.ReadMeta(Found{ID: idC, Runtime: "podman"})
	if err == nil || errors.Is(err, ErrNoState) || !strings.Contains(err.Error(), "parse") {
		t.Fatalf("corrupt state: err = %v, want a parse error", err)
	}
	_, err = r.ReadMeta(Found{ID: "web-1", Runtime: "nspawn"})
	if !errors.Is(err, ErrNoState) {
		t.Fatalf("nspawn: err = %v, want ErrNoState", err)
	}
}
