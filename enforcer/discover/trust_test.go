package discover

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestClassifyOnlyUnderTheRuntimesParents: a runtime's name pattern is a
// container only where that runtime puts its containers.
func TestClassifyOnlyUnderTheRuntimesParents(t *testing.T) {
	t.Parallel()
	for _, rel := range []string{
		"user.slice/user-1000.slice/user@1000.service/app.slice/docker-" + idA + ".scope", // a user's delegated subtree
		"user.slice/user-1000.slice/user@1000.service/docker/" + idA,
		"user.slice/user-1000.slice/user@1000.service/kubepods/" + idA,
		"user.slice/user-1000.slice/user@1000.service/lxc.payload.c1",
		"user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + idC + ".scope", // rootless podman
		"lab/docker-" + idA + ".scope",                                                     // not a slice
		"docker-" + idA + ".scope",                                                         // no parent slice
		"system.slice/x.slice/docker-" + idA + ".scope",                                    // x.slice is not system-x.slice
		"foo/docker/" + idA,                             // docker/ only at the root
		"system.slice/cri-containerd-" + idB + ".scope", // CRI runtimes only under kubepods
		"system.slice/crio-" + idB + ".scope",
		"system.slice/kubepods/" + idB,
		"other/libpod-" + idC,
		"lxc.payload.c1/lxc.payload.c2",
		"system.slice/machine-x.scope",
		"machine.slice/sub.slice/machine-x.scope",
	} {
		if f, ok := Classify(rel); ok {
			t.Errorf("Classify(%q) = %+v, want not a container", rel, f)
		}
	}
	for _, c := range []struct{ rel, id, runtime string }{
		{"quell.slice/quell-acme.slice/docker-" + idA + ".scope", idA, "docker"}, // --cgroup-parent=quell-acme.slice
		{"machine.slice/machine-libpod_pod_1.slice/libpod-" + idC + ".scope", idC, "podman"},
		{"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/docker-" + idA + ".scope", idA, "docker"},
		{"kubepods/burstable/pod1/crio-" + idB, idB, "cri-o"},
		{"libpod_parent/libpod-" + idC, idC, "podman"},
	} {
		f, ok := Classify(c.rel)
		if !ok || f.ID != c.id || f.Runtime != c.runtime {
			t.Errorf("Classify(%q) = %+v, %v; want %s %s", c.rel, f, ok, c.runtime, c.id)
		}
	}
}

func TestMachineNamesNeverCarrySlashesOrControls(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`machine.slice/machine-web\x2d1.scope`:    "web-1",
		`machine.slice/machine-a\x2fb.scope`:      `a\x2fb`,
		`machine.slice/machine-\x1b[31mred.scope`: `\x1b[31mred`,
		`machine.slice/machine-nl\x0a.scope`:      `nl\x0a`,
		`machine.slice/machine-del\x7f.scope`:     `del\x7f`,
		`machine.slice/machine-bs\x5cx2f.scope`:   `bs\x5cx2f`,
		`machine.slice/machine-short\x2.scope`:    `short\x2`,
		`machine.slice/machine-caps\x2D.scope`:    `caps\x2D`,
	} {
		f, ok := Classify(in)
		if !ok || f.ID != want {
			t.Errorf("Classify(%q).ID = %q, %v; want %q", in, f.ID, ok, want)
		}
		if strings.ContainsAny(f.ID, "/\x1b\n\x7f") {
			t.Errorf("Classify(%q).ID = %q holds '/' or a control character", in, f.ID)
		}
	}
}

func TestSliceChain(t *testing.T) {
	t.Parallel()
	for rel, want := range map[string]bool{
		"system.slice": true, "quell.slice/quell-ci.slice": true,
		"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice": true,
		"": false, "system.slice/app.slice": false, "a-b.slice": false, "a.slice/a-.slice": false,
		"a.slice/a--b.slice": false, "user.slice/user-1000.slice/user@1000.service": false, ".slice": false,
	} {
		if got := sliceChain(rel); got != want {
			t.Errorf("sliceChain(%q) = %v, want %v", rel, got, want)
		}
	}
	for in, want := range map[string]string{
		"system.slice": "system.slice", "-.slice": "",
		"kubepods-burstable-pod1.slice": "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
	} {
		if got, ok := expandSlice(in); !ok || got != want {
			t.Errorf("expandSlice(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"a--b.slice", "-a.slice", "a/b.slice", "x.scope"} {
		if got, ok := expandSlice(bad); ok {
			t.Errorf("expandSlice(%q) = %q, want refused", bad, got)
		}
	}
}

// TestWalkSkipsDelegatedSubtrees: a directory another user owns, or one
// others may write to, is not a container, nor is anything below it.
func TestWalkSkipsDelegatedSubtrees(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	real := "system.slice/docker-" + idA + ".scope"
	open := "open.slice/open-x.slice"
	mkdirs(t, root, real, open+"/docker-"+idB+".scope")
	if err := os.Chmod(filepath.Join(root, "open.slice/open-x.slice"), 0o777); err != nil {
		t.Fatal(err)
	}
	want := []string{real}
	if os.Getuid() == 0 {
		user := "user.slice/user-1000.slice/user@1000.service"
		mkdirs(t, root, user+"/app.slice/docker-"+idC+".scope", "mine.slice/docker-"+idD+".scope")
		for _, d := range []string{user, user + "/app.slice", user + "/app.slice/docker-" + idC + ".scope", "mine.slice/docker-" + idD + ".scope"} {
			if err := os.Chown(filepath.Join(root, d), 1000, 1000); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := Walk(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, f := range got {
		rels = append(rels, f.Cgroup)
		if f.Ino == 0 {
			t.Errorf("%s: no inode number", f.Cgroup)
		}
	}
	sort.Strings(rels)
	if strings.Join(rels, ",") != strings.Join(want, ",") {
		t.Fatalf("Walk = %v, want only %v", rels, want)
	}
}

// fakeRunc writes a runc state.json for id naming cgroup cg with init pid
// (started at tick 500), and /proc/<pid>/{cgroup,stat} putting that pid
// in procCg.
func fakeRunc(t *testing.T, r Roots, stateDir, id, cg string, pid int, procCg string) {
	t.Helper()
	writeFile(t, filepath.Join(stateDir, id, "state.json"),
		`{"id":"`+id+`","init_process_pid":`+itoa(pid)+`,"init_process_start":500,"config":{"cgroups":{"path":"/`+cg+`"},"labels":["bundle=/b","k=v"]}}`)
	if pid > 0 {
		writeFile(t, filepath.Join(r.Proc, itoa(pid), "cgroup"), "0::"+procCg+"\n")
		writeFile(t, filepath.Join(r.Proc, itoa(pid), "stat"), itoa(pid)+" (a b) c) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 1 1\n")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestReadMetaRefusesStateOfAnotherCgroup: runtime state read by ID alone
// must describe the cgroup it was found at.
func TestReadMetaRefusesStateOfAnotherCgroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: filepath.Join(dir, "run"), Docker: filepath.Join(dir, "docker"), Proc: filepath.Join(dir, "proc")}
	moby := filepath.Join(r.Run, "docker/runtime-runc/moby")
	realCg := "system.slice/docker-" + idA + ".scope"
	fakeRunc(t, r, moby, idA, realCg, 4242, "/"+realCg)
	writeFile(t, filepath.Join(r.Docker, "containers", idA, "config.v2.json"), `{"Name":"/victim","Config":{"Labels":{"team":"acme"}}}`)

	m, err := r.ReadMeta(Found{ID: idA, Runtime: "docker", Cgroup: realCg})
	if err != nil || m.Name != "victim" || m.PID != 4242 || m.Cgroup != realCg {
		t.Fatalf("the real cgroup: ReadMeta = %+v, %v", m, err)
	}
	// The same ID at Docker's cgroupfs place: the state names the other one.
	m, err = r.ReadMeta(Found{ID: idA, Runtime: "docker", Cgroup: "docker/" + idA})
	if !errors.Is(err, ErrRefused) || m.Name != "" || m.PID != 0 || len(m.Labels) != 0 {
		t.Fatalf("a look-alike: ReadMeta = %+v, %v; want nothing and ErrRefused", m, err)
	}

	// The init PID lives in another cgroup (state is stale, PID reused).
	otherCg := "system.slice/docker-" + idB + ".scope"
	fakeRunc(t, r, moby, idB, otherCg, 5000, "/user.slice/user-1000.slice/session-1.scope")
	if _, err := r.ReadMeta(Found{ID: idB, Runtime: "docker", Cgroup: otherCg}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "session-1.scope") {
		t.Fatalf("init elsewhere: err = %v, want ErrRefused naming its cgroup", err)
	}
	// Below the container's cgroup is fine (systemd inside moves to init.scope).
	fakeRunc(t, r, moby, idB, otherCg, 5000, "/"+otherCg+"/init.scope")
	writeFile(t, filepath.Join(r.Docker, "containers", idB, "config.v2.json"), `{"Name":"/b"}`)
	if _, err := r.ReadMeta(Found{ID: idB, Runtime: "docker", Cgroup: otherCg}); err != nil {
		t.Fatalf("init in a child cgroup: %v", err)
	}
	// A reused PID: another start time.
	writeFile(t, filepath.Join(r.Proc, "5000/stat"), "5000 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 999 1 1\n")
	if _, err := r.ReadMeta(Found{ID: idB, Runtime: "docker", Cgroup: otherCg}); !errors.Is(err, ErrRefused) {
		t.Fatalf("reused PID: err = %v, want ErrRefused", err)
	}
	// The init is gone.
	if err := os.RemoveAll(filepath.Join(r.Proc, "5000")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadMeta(Found{ID: idB, Runtime: "docker", Cgroup: otherCg}); !errors.Is(err, ErrRefused) {
		t.Fatalf("gone init: err = %v, want ErrRefused", err)
	}
	// A state naming no cgroup at all.
	writeFile(t, filepath.Join(moby, idC, "state.json"), `{"id":"`+idC+`","init_process_pid":0,"config":{}}`)
	if _, err := r.ReadMeta(Found{ID: idC, Runtime: "docker", Cgroup: "system.slice/docker-" + idC + ".scope"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("no cgroup: err = %v, want ErrRefused", err)
	}
}

// TestReadMetaCrun reads crun's status file and the config.json copy
// beside it (podman with crun).
func TestReadMetaCrun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: filepath.Join(dir, "run"), Proc: filepath.Join(dir, "proc")}
	cg := "machine.slice/libpod-" + idC + ".scope"
	writeFile(t, filepath.Join(r.Run, "crun", idC, "status"), `{
    "pid": 321,
    "process-start-time": 500,
    "cgroup-path": "/`+cg+`",
    "scope": "libpod-`+idC+`.scope",
    "rootfs": "/var/lib/containers/storage/overlay/x/merged",
    "systemd-cgroup": true,
    "bundle": "/b",
    "created": "2026-12-04T12:00:00.000000000Z",
    "owner": "root",
    "detached": true,
    "external_descriptors": "[]"
}`)
	writeFile(t, filepath.Join(r.Run, "crun", idC, "config.json"), `{"ociVersion":"1.0.0","annotations":{"io.podman.annotations.name":"web","tenant":"ci"}}`)
	writeFile(t, filepath.Join(r.Proc, "321/cgroup"), "0::/"+cg+"\n")
	writeFile(t, filepath.Join(r.Proc, "321/stat"), "321 (catatonit) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 1 1\n")
	m, err := r.ReadMeta(Found{ID: idC, Runtime: "podman", Cgroup: cg})
	if err != nil || m.PID != 321 || m.Name != "web" || m.Labels["tenant"] != "ci" || m.Bundle != "/b" {
		t.Fatalf("ReadMeta = %+v, %v", m, err)
	}
}

// TestReadMetaSandboxOnlyFromTheCRIRuntime: a pod's pause container is
// marked from the annotation its CRI runtime sets, and only for CRI
// runtimes (a Docker label or a podman annotation anyone can set does not
// take a container out of its tenant).
func TestReadMetaSandboxOnlyFromTheCRIRuntime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: dir}
	cg := "kubepods/besteffort/pod1/" + idB
	writeFile(t, filepath.Join(dir, "containerd/runc/k8s.io", idB, "state.json"),
		`{"id":"`+idB+`","config":{"cgroups":{"path":"/`+cg+`"},"labels":["io.kubernetes.cri.container-type=sandbox"]}}`)
	m, err := r.ReadMeta(Found{ID: idB, Runtime: "containerd", Cgroup: cg})
	if err != nil || !m.Sandbox {
		t.Fatalf("containerd sandbox: ReadMeta = %+v, %v; want Sandbox", m, err)
	}
	pcg := "machine.slice/libpod-" + idC + ".scope"
	writeFile(t, filepath.Join(dir, "runc", idC, "state.json"),
		`{"id":"`+idC+`","config":{"cgroups":{"path":"/`+pcg+`"},"labels":["io.kubernetes.cri.container-type=sandbox"]}}`)
	if m, err := r.ReadMeta(Found{ID: idC, Runtime: "podman", Cgroup: pcg}); err != nil || m.Sandbox {
		t.Fatalf("podman with the annotation: ReadMeta = %+v, %v; want no Sandbox", m, err)
	}
}

func TestMetadataFilesAreCapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cg := "machine.slice/libpod-" + idC + ".scope"
	big := `{"id":"x","config":{"cgroups":{"path":"/` + cg + `"},"labels":["k=` + strings.Repeat("v", MaxMetaFile) + `"]}}`
	writeFile(t, filepath.Join(dir, "runc", idC, "state.json"), big)
	_, err := Roots{Run: dir}.ReadMeta(Found{ID: idC, Runtime: "podman", Cgroup: cg})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a %d-byte state.json: err = %v, want it refused as too large", len(big), err)
	}
}

func TestContainedPID(t *testing.T) {
	t.Parallel()
	root, proc := t.TempDir(), t.TempDir()
	ns := func(pid, target string) {
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.MkdirAll(filepath.Join(proc, pid, "ns"), 0o755))
		must(os.Symlink(target, filepath.Join(proc, pid, "ns/mnt")))
	}
	ns("1", "mnt:[4026531841]")
	ns("17", "mnt:[4026531841]") // a host process moved into the cgroup
	ns("18", "mnt:[4026532300]")
	writeFile(t, filepath.Join(root, "a/cgroup.procs"), "17\n18\n")
	writeFile(t, filepath.Join(root, "b/cgroup.procs"), "17\n")
	writeFile(t, filepath.Join(root, "c/cgroup.procs"), "")
	for rel, want := range map[string]int{"a": 18, "b": 0, "c": 0} {
		if pid, err := ContainedPID(proc, root, rel); err != nil || pid != want {
			t.Errorf("ContainedPID(%s) = %d, %v; want %d", rel, pid, err, want)
		}
	}
	if _, err := ContainedPID(proc, root, "gone"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ContainedPID(gone) err = %v, want ErrNotExist", err)
	}
	// Garbage is an error naming the file; a cgroup.procs longer than what
	// is read (only its start is: 64 PIDs at most are looked at) is no
	// error, whatever the cut leaves.
	writeFile(t, filepath.Join(root, "d/cgroup.procs"), "17\nnot-a-pid\n18\n")
	if _, err := ContainedPID(proc, root, "d"); err == nil || !strings.Contains(err.Error(), "d/cgroup.procs") || !strings.Contains(err.Error(), "not-a-pid") {
		t.Errorf("ContainedPID(garbage) err = %v, want a bad PID error naming the file", err)
	}
	writeFile(t, filepath.Join(root, "e/cgroup.procs"), strings.Repeat("17\n", 3000)+"18\n")
	if pid, err := ContainedPID(proc, root, "e"); err != nil || pid != 0 {
		t.Errorf("ContainedPID(3,001 PIDs, the first 64 the host's) = %d, %v; want 0, nil", pid, err)
	}
}
