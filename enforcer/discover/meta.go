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
	Run    string // "/run": runc roots live below it
	Docker string // "/var/lib/docker": the container store
}

// DefaultRoots are the locations on a stock Debian/Ubuntu host.
var DefaultRoots = Roots{Run: "/run", Docker: "/var/lib/docker"}

// Meta is what a runtime knows about a container.
type Meta struct {
	Name   string
	Labels map[string]string // OCI annotations, Docker labels, and the Kubernetes keys derived from CRI annotations
	// Trusted are the labels the runtime set itself, which a container's
	// creator cannot supply: the Kubernetes keys containerd's CRI plugin
	// records from the pod sandbox. Also present in Labels.
	Trusted map[string]string
	PID     int // init PID in the host's PID namespace
	Bundle  string
	Source  string // the state file the metadata came from
}

// ErrIncomplete means part of the metadata is missing (e.g. Docker's store
// entry is written after runc starts the container); the Meta returned with
// it holds what could be read.
var ErrIncomplete = errors.New("runtime metadata incomplete")

// ErrNoState means no runtime state was found for the container.
var ErrNoState = errors.New("no runtime state found")

// ReadMeta reads the metadata of the container f from the runtime state under
// r. It returns ErrNoState (wrapped, naming the places looked at) when none
// of the runtime roots holds the container, and other errors when a state
// file exists but cannot be read or parsed.
func (r Roots) ReadMeta(f Found) (Meta, error) {
	var tried []string
	for _, dir := range r.stateDirs(f) {
		p := filepath.Join(dir, "state.json")
		tried = append(tried, p)
		m, err := readRuncState(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Meta{}, err
		}
		cri := strings.HasPrefix(dir, filepath.Join(r.Run, "containerd/runc")+"/")
		if f.Runtime == "docker" {
			if err := r.addDockerStore(f.ID, &m); errors.Is(err, fs.ErrNotExist) {
				deriveKubernetes(&m, cri)
				return m, fmt.Errorf("docker container %s: %w: no %s yet (name and labels unknown)", f.ID, ErrIncomplete,
					filepath.Join(r.Docker, "containers", f.ID, "config.v2.json"))
			} else if err != nil {
				return m, err
			}
		}
		deriveKubernetes(&m, cri)
		return m, nil
	}
	if len(tried) == 0 {
		return Meta{}, fmt.Errorf("%s container %s: %w (runtime state not supported)", f.Runtime, f.ID, ErrNoState)
	}
	return Meta{}, fmt.Errorf("%s container %s: %w in %s", f.Runtime, f.ID, ErrNoState, strings.Join(tried, ", "))
}

// stateDirs lists the runc state dirs that may hold f, in order.
func (r Roots) stateDirs(f Found) []string {
	if !bareRe.MatchString(f.ID) {
		return nil // only runc-style 64-hex IDs have runc state
	}
	switch f.Runtime {
	case "docker":
		return []string{filepath.Join(r.Run, "docker/runtime-runc/moby", f.ID)}
	case "podman":
		return []string{filepath.Join(r.Run, "runc", f.ID)}
	case "containerd", "cri-o":
		var dirs []string
		nss, _ := os.ReadDir(filepath.Join(r.Run, "containerd/runc"))
		for _, ns := range nss {
			dirs = append(dirs, filepath.Join(r.Run, "containerd/runc", ns.Name(), f.ID))
		}
		dirs = append(dirs, filepath.Join(r.Run, "runc", f.ID)) // cri-o with runc
		return dirs
	}
	return nil
}

// readRuncState parses a runc state.json with runc's own types, read-only.
func readRuncState(path string) (Meta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Meta{}, err
	}
	var st libcontainer.State
	if err := json.Unmarshal(data, &st); err != nil {
		return Meta{}, fmt.Errorf("parse %s: %w", path, err)
	}
	bundle, ann := utils.Annotations(st.Config.Labels)
	m := Meta{Labels: map[string]string{}, PID: st.InitProcessPid, Bundle: bundle, Source: path}
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

func readSpec(path string) (*specs.Spec, error) {
	data, err := os.ReadFile(path)
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

func (r Roots) addDockerStore(id string, m *Meta) error {
	p := filepath.Join(r.Docker, "containers", id, "config.v2.json")
	data, err := os.ReadFile(p)
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
	return nil
}
