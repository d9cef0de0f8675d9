package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Roots are the runtime state locations metadata is read from. Every one is
// a parameter so tests (and unusual hosts) can point elsewhere.
type Roots struct {
	Run    string // "/run": runc and crun roots live below it
	Docker string // "/var/lib/docker": the container store and overlay2 layers
	// Containers is containers/storage's graph root (podman, CRI-O):
	// "/var/lib/containers/storage"; "" reads no layer record from it.
	Containers string
	// Containerd is containerd's root, "/var/lib/containerd" (its
	// overlayfs snapshots hold its containers' layers).
	Containerd string
	// Proc is the /proc whose <pid>/cgroup and <pid>/stat cross-check a
	// state's init PID; "" leaves that to the caller (the enforcer fills
	// in its own).
	Proc string
	// CgroupMount is where the runtimes see the cgroup root (the prefix of
	// runc's cgroup_paths); "" likewise.
	CgroupMount string
	// DockerConfig is dockerd's daemon.json, whose "data-root" moves
	// Docker's store ("" reads none); StorageConf is containers/storage's
	// storage.conf, whose graphroot moves podman's (see resolved).
	DockerConfig, StorageConf string
	// DockerAPI and PodmanAPI are the engines' Docker-compatible APIs
	// (nil: not asked). Docker's is asked for its data-root and for a
	// container whose store entry is missing; podman's for every podman
	// container's name and labels, which no state file holds.
	DockerAPI, PodmanAPI *EngineAPI

	resolvedDone               bool
	dockerFrom, containersFrom string // where Docker and Containers came from
}

// DefaultRoots are the locations on a stock Debian/Ubuntu host.
var DefaultRoots = Roots{Run: "/run", Docker: "/var/lib/docker", Containers: "/var/lib/containers/storage",
	Containerd: "/var/lib/containerd"}

// Meta is what a runtime knows about a container.
type Meta struct {
	Name   string
	Labels map[string]string // OCI annotations, Docker labels, and the Kubernetes keys derived from CRI annotations
	PID    int               // init PID in the host's PID namespace
	Bundle string
	Source string // the state file the metadata came from
	// Trusted are the labels the runtime set itself, which a container's
	// creator cannot supply: the Kubernetes keys containerd's CRI plugin
	// records from the pod sandbox (trust.go). Also present in Labels.
	Trusted map[string]string
	// Cgroup is the cgroup the runtime state names for the container,
	// relative to the cgroup root; "" when the state names none.
	Cgroup string
	// StartTime is the init process's start time in clock ticks after
	// boot (field 22 of /proc/<pid>/stat) as the runtime recorded it; 0
	// when unknown.
	StartTime uint64
	// Sandbox is set for a Kubernetes pod's sandbox (pause) container, as
	// the CRI runtime (containerd, CRI-O) marks it in the OCI annotations
	// it sets itself: not a workload.
	Sandbox bool
	// Sources says where each fact came from: "pid", "name", "labels",
	// "data-root" → a file or an engine API.
	Sources map[string]string
}

func (m *Meta) from(fact, where string) {
	if m.Sources == nil {
		m.Sources = map[string]string{}
	}
	m.Sources[fact] = where
}

// ErrIncomplete means part of the metadata is missing (e.g. Docker's store
// entry is written after runc starts the container); the Meta returned with
// it holds what could be read.
var ErrIncomplete = errors.New("runtime metadata incomplete")

// ErrNoState means no runtime state was found for the container.
var ErrNoState = errors.New("no runtime state found")

// ErrRefused means runtime state was found under the container's ID but
// does not describe the cgroup it was found at (another cgroup claims that
// ID, or the state's init process lives elsewhere): none of it is used, so
// the cgroup has no name, labels or PID from it.
var ErrRefused = errors.New("runtime state refused")

// ReadMeta reads the metadata of the container f from the runtime state under
// r: runc's state.json or crun's status in the runtime's state root, the
// annotations of the OCI config, and Docker's container store. The state
// must name f's cgroup, and its init PID (when it has one) must live at or
// below that cgroup and have the start time the state recorded (see
// Check); otherwise the error wraps ErrRefused and the Meta is empty. It
// returns ErrNoState (wrapped, naming the places looked at) when none of
// the runtime roots holds the container, ErrIncomplete with what could be
// read when Docker's store entry is missing, and other errors when a state
// file exists but cannot be read, is over MaxMetaFile, or cannot be parsed.
func (r Roots) ReadMeta(f Found) (Meta, error) {
	m, err := r.readState(f)
	if err != nil {
		return Meta{}, err
	}
	// The stores' roots only after a state was found: a cgroup without
	// one (read again and again while it is young) costs no read of
	// daemon.json or storage.conf.
	r = r.resolved()
	if err := r.Check(f, m); err != nil {
		return Meta{}, err
	}
	if m.PID > 0 {
		m.from("pid", m.Source)
	}
	switch f.Runtime {
	case "docker":
		err = r.addDocker(f.ID, &m)
	case "podman":
		err = r.addPodman(f.ID, &m)
	}
	deriveKubernetes(&m, r.fromContainerd(m))
	if len(m.Labels) > 0 && m.Sources["labels"] == "" {
		m.from("labels", m.Source)
	}
	return m, err
}

// addDocker adds name and labels from Docker's store (config.v2.json below
// its data-root), else from its Engine API.
func (r Roots) addDocker(id string, m *Meta) error {
	p := filepath.Join(r.Docker, "containers", id, "config.v2.json")
	err := r.addDockerStore(p, m)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	c, aerr := r.DockerAPI.Container(id)
	if aerr == nil {
		aerr = r.takeEngine(c, m, "Docker Engine API "+r.DockerAPI.Socket)
	}
	if aerr == nil {
		return nil
	}
	return fmt.Errorf("docker container %s: %w: no %s yet (data-root from %s) and the engine API: %v (name and labels unknown)",
		id, ErrIncomplete, p, r.dockerFrom, aerr)
}

// addPodman adds name and labels from podman's API; without it, the name
// from containers/storage's containers.json (labels are kept only in
// libpod's database, which quell does not open).
func (r Roots) addPodman(id string, m *Meta) error {
	c, aerr := r.PodmanAPI.Container(id)
	if aerr == nil {
		if aerr = r.takeEngine(c, m, "podman API "+r.PodmanAPI.Socket); aerr == nil {
			return nil
		}
	}
	if r.Containers == "" {
		return nil
	}
	name, p, err := r.podmanName(id)
	if errors.Is(err, fs.ErrNotExist) {
		if r.PodmanAPI == nil {
			return nil // neither asked nor kept: as a runc container made by hand
		}
		return fmt.Errorf("podman container %s: %w: not in %s and podman's API: %v (name and labels unknown)", id, ErrIncomplete, p, aerr)
	}
	if err != nil {
		return err
	}
	if name != "" {
		m.Name = name
		m.from("name", p)
	}
	if r.PodmanAPI == nil {
		return nil
	}
	return fmt.Errorf("podman container %s: %w: labels unknown: podman's API: %v (start podman.socket)", id, ErrIncomplete, aerr)
}

// takeEngine takes name and labels from an engine's answer, unless the
// engine's init PID disagrees with the runtime state's (then none of it).
func (r Roots) takeEngine(c engineContainer, m *Meta, where string) error {
	if c.State.Pid != 0 && m.PID != 0 && c.State.Pid != m.PID {
		return fmt.Errorf("%s says init PID %d, the runtime state %d: answer refused", where, c.State.Pid, m.PID)
	}
	m.Name = strings.TrimPrefix(c.Name, "/")
	for k, v := range c.Config.Labels {
		m.Labels[k] = v
	}
	m.from("name", where)
	if len(c.Config.Labels) > 0 {
		m.from("labels", where)
	}
	return nil
}

// readState reads the first runc or crun state found for f.
func (r Roots) readState(f Found) (Meta, error) {
	var tried []string
	for _, dir := range r.stateDirs(f) {
		for _, st := range []struct {
			file string
			read func(string) (Meta, error)
		}{{"state.json", readRuncState}, {"status", readCrunState}} {
			p := filepath.Join(dir, st.file)
			tried = append(tried, p)
			m, err := st.read(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return Meta{}, err
			}
			m.Sandbox = (f.Runtime == "containerd" || f.Runtime == "cri-o") && isSandbox(m.Labels)
			return m, nil
		}
	}
	if len(tried) == 0 {
		return Meta{}, fmt.Errorf("%s container %s: %w (runtime state not supported)", f.Runtime, f.ID, ErrNoState)
	}
	return Meta{}, fmt.Errorf("%s container %s: %w in %s", f.Runtime, f.ID, ErrNoState, strings.Join(tried, ", "))
}

// StatePending reports whether f's runtime is still creating it: runc
// and crun make the container's state directory (runc's exec.fifo lives
// there) before they create its cgroup, and write the state file into it
// only once the cgroup is set up. A directory without a state file is that
// window; no directory at all means no runc or crun state will come (a
// runtime quell does not read, or a cgroup made by hand), so there is
// nothing to wait for.
func (r Roots) StatePending(f Found) bool {
	for _, d := range r.stateDirs(f) {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// stateDirs lists the runc and crun state dirs that may hold f, in order.
func (r Roots) stateDirs(f Found) []string {
	if !bareRe.MatchString(f.ID) {
		return nil // only runc-style 64-hex IDs have runc or crun state
	}
	switch f.Runtime {
	case "docker":
		return []string{filepath.Join(r.Run, "docker/runtime-runc/moby", f.ID)}
	case "podman":
		return []string{filepath.Join(r.Run, "runc", f.ID), filepath.Join(r.Run, "crun", f.ID)}
	case "containerd", "cri-o":
		var dirs []string
		nss, _ := os.ReadDir(filepath.Join(r.Run, "containerd/runc"))
		for _, ns := range nss {
			dirs = append(dirs, filepath.Join(r.Run, "containerd/runc", ns.Name(), f.ID))
		}
		// CRI-O with runc or crun
		return append(dirs, filepath.Join(r.Run, "runc", f.ID), filepath.Join(r.Run, "crun", f.ID))
	}
	return nil
}

// Annotations the CRI runtimes set themselves on a pod's sandbox (pause)
// container; a workload's own annotations cannot override them.
var sandboxKeys = [][2]string{
	{"io.kubernetes.cri.container-type", "sandbox"},  // containerd
	{"io.kubernetes.cri-o.ContainerType", "sandbox"}, // CRI-O
}

func isSandbox(ann map[string]string) bool {
	for _, kv := range sandboxKeys {
		if ann[kv[0]] == kv[1] {
			return true
		}
	}
	return false
}

// readRuncState parses a runc state.json with runc's own types, read-only.
func readRuncState(path string) (Meta, error) {
	data, err := readCapped(path)
	if err != nil {
		return Meta{}, err
	}
	var st libcontainer.State
	if err := json.Unmarshal(data, &st); err != nil {
		return Meta{}, fmt.Errorf("parse %s: %w", path, err)
	}
	bundle, ann := utils.Annotations(st.Config.Labels)
	m := Meta{Labels: map[string]string{}, PID: st.InitProcessPid, StartTime: st.InitProcessStartTime,
		Bundle: bundle, Source: path, Cgroup: runcCgroup(&st)}
	for k, v := range ann {
		m.Labels[k] = v
	}
	if len(ann) == 0 && bundle != "" {
		// Older runtimes keep annotations only in the bundle.
		if spec, err := readSpec(filepath.Join(bundle, "config.json")); err == nil {
			for k, v := range spec.Annotations {
				m.Labels[k] = v
			}
		}
	}
	return m, nil
}

// crunStatus is crun's <root>/<id>/status (libcrun status.c).
type crunStatus struct {
	PID        int    `json:"pid"`
	StartTime  uint64 `json:"process-start-time"`
	CgroupPath string `json:"cgroup-path"`
	Scope      string `json:"scope"` // the systemd scope, with "systemd-cgroup": true
	Bundle     string `json:"bundle"`
}

// crunCgroup is the container's cgroup from crun's status. With the
// systemd cgroup driver crun (as podman runs it) makes the scope and puts
// the container's processes in a "container" child of it
// ("cgroup-path": "/machine.slice/libpod-<id>.scope/container", checked
// in the lab with podman 4.3 + crun 1.8.1); the scope, which holds the
// limits, is the container's cgroup.
func crunCgroup(st crunStatus) string {
	cg := strings.Trim(filepath.Clean("/"+st.CgroupPath), "/")
	if st.Scope != "" && strings.HasSuffix(cg, "/"+st.Scope+"/container") {
		cg = strings.TrimSuffix(cg, "/container")
	}
	return cg
}

// readCrunState parses crun's status file; the annotations come from the
// copy of the OCI config crun keeps beside it, else from the bundle's.
func readCrunState(path string) (Meta, error) {
	data, err := readCapped(path)
	if err != nil {
		return Meta{}, err
	}
	var st crunStatus
	if err := json.Unmarshal(data, &st); err != nil {
		return Meta{}, fmt.Errorf("parse %s: %w", path, err)
	}
	m := Meta{Labels: map[string]string{}, PID: st.PID, StartTime: st.StartTime, Bundle: st.Bundle, Source: path,
		Cgroup: crunCgroup(st)}
	spec, err := readSpec(filepath.Join(filepath.Dir(path), "config.json"))
	if errors.Is(err, fs.ErrNotExist) && st.Bundle != "" {
		spec, err = readSpec(filepath.Join(st.Bundle, "config.json"))
	}
	if err == nil {
		for k, v := range spec.Annotations {
			m.Labels[k] = v
		}
	}
	return m, nil
}

func readSpec(path string) (*specs.Spec, error) {
	data, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &s, nil
}

// dockerConfig is the part of Docker's config.v2.json quell reads.
type dockerConfig struct {
	Name   string
	Config struct {
		Labels map[string]string
	}
}

func (r Roots) addDockerStore(p string, m *Meta) error {
	data, err := readCapped(p)
	if err != nil {
		return err
	}
	var c dockerConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("parse %s: %w", p, err)
	}
	m.Name = strings.TrimPrefix(c.Name, "/")
	for k, v := range c.Config.Labels {
		m.Labels[k] = v
	}
	m.from("name", p)
	if len(c.Config.Labels) > 0 {
		m.from("labels", p)
	}
	if r.dockerFrom != "" && r.dockerFrom != "default" {
		m.from("data-root", r.Docker+" (from "+r.dockerFrom+")")
	}
	return nil
}
