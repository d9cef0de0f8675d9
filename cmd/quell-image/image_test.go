package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"go.yaml.in/yaml/v3"
)

func testSpec(t *testing.T) spec {
	dir := t.TempDir()
	for f, data := range map[string]string{"quelld": "quelld-binary", "quell": "quell-binary", "LICENSE": "Apache"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return spec{
		Files: map[string]string{"/usr/bin/quelld": filepath.Join(dir, "quelld"), "/usr/bin/quell": filepath.Join(dir, "quell"),
			"/usr/share/doc/quell/LICENSE": filepath.Join(dir, "LICENSE")},
		Dirs: imageDirs, Version: "v1.2.0-3-gabc1234", Commit: "abc1234def",
		Created: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC),
	}
}

// TestImageRoundTrip writes the image as `make image` does, reads the
// tarball back as docker/podman load would, and checks what the DaemonSet
// relies on: the entrypoint, the labels, the binaries and the mount points.
func TestImageRoundTrip(t *testing.T) {
	t.Parallel()
	s := testSpec(t)
	img, err := build(s)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "quell.tar")
	tag, _ := name.NewTag("quell:" + tagFor(s.Version))
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/usr/bin/quelld" {
		t.Errorf("config: os %q arch %q entrypoint %q", cf.OS, cf.Architecture, cf.Config.Entrypoint)
	}
	for k, want := range map[string]string{"org.opencontainers.image.version": "v1.2.0-3-gabc1234", "org.opencontainers.image.revision": "abc1234def",
		"org.opencontainers.image.licenses": "Apache-2.0"} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	got := map[string]*tar.Header{}
	rc := mutate.Extract(back)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got["/"+filepath.Clean(h.Name)] = h
	}
	for p, mode := range map[string]int64{"/usr/bin/quelld": 0o755, "/usr/bin/quell": 0o755, "/usr/share/doc/quell/LICENSE": 0o644,
		"/etc/quell/policy.d": 0o755, "/var/lib/quell": 0o755, "/run": 0o755, "/host/proc": 0o755, "/proc": 0o755, "/sys/fs/cgroup": 0o755, "/tmp": 0o1777} {
		h, ok := got[p]
		if !ok {
			t.Errorf("%s not in the image", p)
			continue
		}
		if h.Mode != mode || h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(s.Created) {
			t.Errorf("%s: mode %o uid %d gid %d mtime %v; want %o, root, %v", p, h.Mode, h.Uid, h.Gid, h.ModTime, mode, s.Created)
		}
	}
	if len(got) != 22 {
		t.Errorf("image has %d entries, want 22 (3 files, 19 dirs): %v", len(got), got)
	}
}

// TestImageReproducible: the same input gives the same digest, so a
// rebuild of a commit is the same image.
func TestImageReproducible(t *testing.T) {
	t.Parallel()
	s := testSpec(t)
	a, err := build(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(s)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds: %s and %s", da, db)
	}
}

func TestTagFor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"v1.2.0": "v1.2.0", "dev": "dev", "v1.2.0-3-gabc1234-dirty": "v1.2.0-3-gabc1234-dirty",
		"0~git.abc+1": "0-git.abc-1", "-x": "v-x", "": "v"} {
		if got := tagFor(in); got != want {
			t.Errorf("tagFor(%q) = %q, want %q", in, got, want)
		}
		if _, err := name.NewTag("quell:" + tagFor(in)); err != nil {
			t.Errorf("tagFor(%q) = %q is not a valid tag: %v", in, tagFor(in), err)
		}
	}
}

// TestImageHasTheDaemonSetsMountPoints: every volume the DaemonSet mounts
// has its directory in the image (an empty base has none of its own).
func TestImageHasTheDaemonSetsMountPoints(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/kubernetes/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						VolumeMounts []struct {
							MountPath string `yaml:"mountPath"`
							SubPath   string `yaml:"subPath"`
						} `yaml:"volumeMounts"`
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &ds); err != nil || len(ds.Spec.Template.Spec.Containers) == 0 {
		t.Fatalf("daemonset.yaml: %v", err)
	}
	dirs := map[string]bool{}
	for _, d := range imageDirs {
		for ; d != "/"; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for _, m := range ds.Spec.Template.Spec.Containers[0].VolumeMounts {
		want := m.MountPath
		if m.SubPath != "" {
			want = filepath.Dir(want) // a file mounted into a dir of the image
		}
		if !dirs[want] {
			t.Errorf("the DaemonSet mounts %s; the image has no dir %s", m.MountPath, want)
		}
	}
}
