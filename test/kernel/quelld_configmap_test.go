//go:build lab

package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// configMapPolicy is a policy whose per-container CPU cap is cpus.
func configMapPolicy(cpus string) string {
	return `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  cpus = ` + cpus + `
`
}

// kubeletDir lays out dir as kubelet's atomic writer lays out a ConfigMap
// volume: the data in a timestamped hidden dir, `..data` a symlink to it,
// and each key a symlink to `..data/<key>`.
type kubeletDir struct {
	t   *testing.T
	dir string
	cur string // the timestamped dir ..data points at
	n   int
}

// write puts files in a new timestamped dir, swaps ..data to it as kubelet
// does (symlink ..data_tmp, rename over ..data), links any new key, and
// removes the old timestamped dir.
func (k *kubeletDir) write(files map[string]string) {
	k.t.Helper()
	k.n++
	ts := fmt.Sprintf("..2026_12_05_08_%02d_00.%09d", k.n, 100000000+k.n)
	if err := os.MkdirAll(filepath.Join(k.dir, ts), 0o755); err != nil {
		k.t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(k.dir, ts, name), []byte(data), 0o644); err != nil {
			k.t.Fatal(err)
		}
	}
	tmp := filepath.Join(k.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		k.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(k.dir, "..data")); err != nil {
		k.t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(k.dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			k.t.Fatal(err)
		}
	}
	if k.cur != "" {
		if err := os.RemoveAll(filepath.Join(k.dir, k.cur)); err != nil {
			k.t.Fatal(err)
		}
	}
	k.cur = ts
}

// TestQuelldReloadsOnConfigMapSwap: a policy dir that is a Kubernetes
// ConfigMap volume changes only by kubelet swapping the `..data` symlink;
// the key's own symlink (10-tenants.toml -> ..data/10-tenants.toml) never
// changes. quelld must reload on that swap, and the old timestamped dir
// going away must not make it drop the policy.
func TestQuelldReloadsOnConfigMapSwap(t *testing.T) {
	labkit.Require(t)
	dir := t.TempDir()
	k := &kubeletDir{t: t, dir: filepath.Join(dir, "policy.d")}
	k.write(map[string]string{"10-tenants.toml": configMapPolicy("0.5")})
	q := labkit.NewQuelld(dir)
	if err := q.Launch(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Terminate(15 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("quelld log tail:\n%s", labkit.Tail(labkit.ReadFile(q.Log), 40))
		}
	})
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "acme-web"})
	cpuMax := filepath.Join(c.CgroupDir, "cpu.max")
	waitFile(t, cpuMax, "50000 100000", 10*time.Second)

	start := time.Now()
	k.write(map[string]string{"10-tenants.toml": configMapPolicy("0.25")})
	took := waitFile(t, cpuMax, "25000 100000", 10*time.Second)
	t.Logf("FIGURE configmap ..data-swap-to-new-limit %v", took)
	ents, _ := os.ReadDir(k.dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	t.Logf("policy dir after the swap: %s", strings.Join(names, " "))

	// The old timestamped dir is gone; quelld keeps the policy through
	// later passes and a resync of its own.
	time.Sleep(3 * time.Second)
	if got := strings.TrimSpace(labkit.ReadFile(cpuMax)); got != "25000 100000" {
		t.Fatalf("cpu.max = %q 3 s after the old dir was removed, want 25000 100000", got)
	}
	st, err := q.Quell("status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st, "policy:     ok: 1 file, 1 tenant") {
		t.Errorf("quell status after the swap does not show the one-tenant policy as valid:\n%s", st)
	}
	t.Logf("quell status:\n%s", st)

	// A second swap back works too (the watch survives a swap).
	k.write(map[string]string{"10-tenants.toml": configMapPolicy("0.5")})
	took = waitFile(t, cpuMax, "50000 100000", 10*time.Second)
	t.Logf("FIGURE configmap second-swap-to-new-limit %v (total %v)", took, time.Since(start))
}
