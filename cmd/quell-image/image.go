package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// spec is what goes into the image: the files (image path → host path),
// the empty dirs the DaemonSet mounts over, and the metadata.
type spec struct {
	Files   map[string]string // /usr/bin/quelld → bin/release/quelld
	Dirs    []string          // /etc/quell/policy.d, /var/lib/quell, ...
	Version string            // org.opencontainers.image.version
	Commit  string            // org.opencontainers.image.revision
	Created time.Time         // every mtime and the config's created: the same input gives the same digest
}

// imageDirs are the image's empty dirs: the mount points of the
// DaemonSet's volumes (deploy/kubernetes/daemonset.yaml) and a /tmp.
var imageDirs = []string{"/etc/quell/policy.d", "/var/lib/quell", "/run", "/host/proc", "/proc", "/sys/fs/cgroup", "/tmp"}

// build makes the image: one layer over an empty base, quelld as the
// entrypoint.
func build(s spec) (v1.Image, error) {
	layerTar, err := layerTar(s)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: s.Created}, CreatedBy: "quell-image: quelld and quell " + s.Version, Comment: "static binaries on an empty base"}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: s.Created}
	cf.Config = v1.Config{
		Entrypoint: []string{"/usr/bin/quelld"},
		Env:        []string{"PATH=/usr/bin", "GOTRACEBACK=all"},
		WorkingDir: "/",
		Labels:     labels(s),
	}
	return mutate.ConfigFile(img, cf)
}

// labels are the OCI annotation keys, as image labels.
func labels(s spec) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "quell",
		"org.opencontainers.image.description": "quelld, the per-tenant cgroup v2 enforcer, and the quell CLI",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.source":      "https://github.com/quell-dev/quell",
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.created":     s.Created.UTC().Format(time.RFC3339),
	}
	if s.Commit != "" {
		l["org.opencontainers.image.revision"] = s.Commit
	}
	return l
}

// layerTar is the layer: the dirs (with their parents), then the files,
// in a fixed order, owned by root, with mtime s.Created.
func layerTar(s spec) ([]byte, error) {
	dirs := map[string]bool{}
	var addParents func(p string)
	addParents = func(p string) {
		if p == "/" || p == "." || dirs[p] {
			return
		}
		dirs[p] = true
		addParents(path.Dir(p))
	}
	for _, d := range s.Dirs {
		addParents(path.Clean(d))
	}
	files := make([]string, 0, len(s.Files))
	for f := range s.Files {
		files = append(files, f)
		addParents(path.Dir(path.Clean(f)))
	}
	sort.Strings(files)
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range dirList {
		mode := int64(0o755)
		if d == "/tmp" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: mode, ModTime: s.Created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(s.Files[f])
		if err != nil {
			return nil, err
		}
		mode := int64(0o644)
		if path.Dir(f) == "/usr/bin" {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path.Clean(f)[1:], Mode: mode, Size: int64(len(data)), ModTime: s.Created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
