package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
)

// HostRoots are DefaultRoots with the engines' own configuration and APIs:
// Docker's daemon.json and Engine API, containers/storage's storage.conf
// and podman's API service. now is the clock the APIs' back-off uses.
func HostRoots(now func() time.Time) Roots {
	r := DefaultRoots
	r.DockerConfig = "/etc/docker/daemon.json"
	r.StorageConf = "/etc/containers/storage.conf"
	r.DockerAPI = NewEngineAPI("/run/docker.sock", now)
	r.PodmanAPI = NewEngineAPI("/run/podman/podman.sock", now)
	return r
}

// resolved returns r with Docker and Containers moved to where the engines
// really keep their stores (a data-root moved to another disk, as many
// hosts do): Docker's from daemon.json's "data-root" (or the older
// "graph"), else its Engine API (/info DockerRootDir), else r.Docker;
// podman's graphroot from storage.conf, else r.Containers. Where each came
// from is kept for explanations.
func (r Roots) resolved() Roots {
	if r.resolvedDone {
		return r
	}
	r.resolvedDone = true
	r.dockerFrom, r.containersFrom = "default", "default"
	if r.Docker != "" {
		// daemon.json first: dockerd refuses to start when it and a
		// --data-root flag both set the root, so a data-root there is the
		// one in use, and reading it costs no request (dockerd's /info
		// runs its runtimes' --version: seconds on a loaded host).
		if root, err := daemonJSONRoot(r.DockerConfig); err == nil && root != "" {
			r.Docker, r.dockerFrom = root, r.DockerConfig
		} else if root, err := r.DockerAPI.RootDir(); err == nil {
			r.Docker, r.dockerFrom = root, "Docker Engine API "+r.DockerAPI.Socket
		}
	}
	if r.Containers != "" {
		if root, err := storageConfRoot(r.StorageConf); err == nil && root != "" {
			r.Containers, r.containersFrom = root, r.StorageConf
		}
	}
	return r
}

// daemonJSONRoot reads dockerd's data-root from its daemon.json ("" when
// the file or the key is missing). A relative path is refused.
func daemonJSONRoot(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := readCapped(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var c struct {
		DataRoot string `json:"data-root"`
		Graph    string `json:"graph"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	root := c.DataRoot
	if root == "" {
		root = c.Graph
	}
	if root != "" && !filepath.IsAbs(root) {
		return "", fmt.Errorf("%s: data-root %q is not an absolute path", path, root)
	}
	return filepath.Clean(root), nil
}

// storageConfRoot reads containers/storage's graphroot from storage.conf
// ([storage] graphroot), "" when the file or the key is missing.
func storageConfRoot(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := readCapped(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var c struct {
		Storage struct {
			GraphRoot string `toml:"graphroot"`
		} `toml:"storage"`
	}
	if _, err := toml.Decode(string(b), &c); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	root := c.Storage.GraphRoot
	if root != "" && !filepath.IsAbs(root) {
		return "", fmt.Errorf("%s: graphroot %q is not an absolute path", path, root)
	}
	if root == "" {
		return "", nil
	}
	return filepath.Clean(root), nil
}

// podmanName returns the container's first name from containers/storage's
// containers.json below the graphroot.
func (r Roots) podmanName(id string) (name, path string, err error) {
	path = filepath.Join(r.Containers, "overlay-containers/containers.json")
	b, err := readCapped(path)
	if err != nil {
		return "", path, err
	}
	var cs []struct {
		ID    string   `json:"id"`
		Names []string `json:"names"`
	}
	if err := json.Unmarshal(b, &cs); err != nil {
		return "", path, fmt.Errorf("parse %s: %w", path, err)
	}
	for _, c := range cs {
		if c.ID == id {
			if len(c.Names) == 0 {
				return "", path, nil
			}
			return c.Names[0], path, nil
		}
	}
	return "", path, fmt.Errorf("%s: no container %s: %w", path, id, fs.ErrNotExist)
}
