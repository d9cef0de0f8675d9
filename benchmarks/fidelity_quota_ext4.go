package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/test/labkit"
)

const quotaExt4Policy = `
[[tenant]]
name = "bench-disk"
  [tenant.match]
  cgroups = ["system.slice/docker-%s*.scope"]
  [tenant.container]
  disk = { bytes = "8MiB" }
`

// quotaExt4Case: quelld itself enforces a per-container disk cap of 8 MiB
// on the ext4 disk (mounted -o prjquota). The container is laid out as
// Docker's overlay2 driver lays it out: cgroup system.slice/docker-<id>.scope,
// writable layer <data-root>/overlay2/<mount-id>/diff (a directory of the
// ext4 disk bound there) recorded in the layerdb, and an overlay over it
// as the container's root. quelld finds the layer from that record, gives
// it a project and the limit. A writer in the container's cgroup without
// CAP_SYS_RESOURCE then appends through the overlay, as the container's
// processes write, until refused; achieved = the project's usage by
// quotactl. A second writer appends straight into the layer directory,
// which tells the quota's own enforcement from the overlay's.
func quotaExt4Case() Case {
	return Case{Section: Fidelity, Name: "disk quota ext4 (quelld)", Est: 20 * time.Second,
		Needs: func(e Env) string {
			if e.Ext4 == "" {
				return "no scratch ext4 disk with prjquota (QUELL_LAB_EXT4)"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			const limit = 8 << 20
			q := projquota.NewQuotas("")
			if err := q.Check(env.Ext4); err != nil {
				return nil, err
			}
			id := labkit.HexID("9e4")
			l, err := newDockerLayer(labkit.DockerDataRoot(), filepath.Join(env.Ext4, "bench-quota-ext4"), id)
			if err != nil {
				return nil, err
			}
			defer l.remove()
			c, err := newCgroup(env, "system.slice/docker-"+id+".scope")
			if err != nil {
				return nil, err
			}
			defer c.remove()
			hold, err := labkit.StartChild(env.Self, c.dir, "alloc", "1", false)
			if err != nil {
				return nil, err
			}
			defer hold.Kill()
			qd, err := startQuelld(env, fmt.Sprintf(quotaExt4Policy, id[:3]), "")
			if err != nil {
				return nil, err
			}
			defer qd.stop()
			var pid uint32
			var lim projquota.ProjectQuota
			t0 := time.Now()
			if !waitFor(20*time.Second, 100*time.Millisecond, func() bool {
				pid, _ = projquota.ProjectID(l.upper)
				if pid == 0 {
					return false
				}
				lim, err = q.ProjectUsage(env.Ext4, pid)
				return err == nil && lim.Limit.Bytes == limit
			}) {
				cv, _, verr := qd.container(c.rel)
				return nil, fmt.Errorf("quelld gave the layer %s no project with an 8 MiB limit in 20 s (project %d, quota %+v); container errors %q %v; log: %s",
					l.upper, pid, lim, cv.Errors, verr, labkit.Tail(labkit.ReadFile(qd.Log), 5))
			}
			applied := time.Since(t0)
			var rs []Result
			for _, w := range []struct{ name, path, how string }{
				{"through the overlay", filepath.Join(l.root, "big"), "the container's root (overlay, upperdir the layer)"},
				{"into the layer", filepath.Join(l.upper, "direct"), "the layer directory itself"},
			} {
				before, err := q.ProjectUsage(env.Ext4, pid)
				if err != nil {
					return rs, err
				}
				p, err := labkit.StartChild(env.Self, c.dir, "fill", fmt.Sprintf("%s %d", w.path, 4*limit>>20), false)
				if err != nil {
					return rs, err
				}
				line, err := p.Line(2 * time.Minute)
				if err != nil {
					return rs, err
				}
				wrote, why, err := parseFill(line)
				if err != nil {
					return rs, err
				}
				u, err := q.ProjectUsage(env.Ext4, pid)
				if err != nil {
					return rs, err
				}
				note := "writer stopped by " + why
				if why == "ok" {
					note = fmt.Sprintf("writer was NOT refused: wrote all %d MiB", wrote>>20)
				}
				rs = append(rs, Result{Control: "disk quota ext4", Case: "quota ext4 bytes 8 MiB, write " + w.name, Set: 8,
					Achieved: round(float64(u.UsedBytes)/(1<<20), 4), Unit: "MiB", Note: note,
					Extra: map[string]float64{"written_mib": round(float64(wrote)/(1<<20), 4), "usage_before_mib": round(float64(before.UsedBytes)/(1<<20), 4),
						"project_id": float64(pid), "applied_s": round(applied.Seconds(), 2)},
					Method: fmt.Sprintf("quelld [tenant.container] disk 8MiB on a Docker overlay2-style layer on ext4 (prjquota); 64 KiB appends to %s by a process in the container's cgroup without CAP_SYS_RESOURCE until refused; project usage via quotactl", w.how)}.WithError())
				// Each writer starts from an empty project.
				if err := os.Remove(w.path); err != nil {
					return rs, err
				}
			}
			return crossChecked(env, rs, c)
		}}
}

// parseFill reads the fill helper's line "bytes ERR".
func parseFill(l string) (int64, string, error) {
	f := strings.Fields(l)
	if len(f) != 2 {
		return 0, "", fmt.Errorf("fill said %q, want \"bytes ERR\"", l)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, "", fmt.Errorf("fill said %q, want \"bytes ERR\"", l)
	}
	return n, f[1], nil
}

// dockerLayer is a container's writable layer laid out as Docker's
// overlay2 driver does, its storage on a scratch disk: dir/<id12> bound
// at <data-root>/overlay2/<id12>, recorded in the layerdb
// (image/overlay2/layerdb/mounts/<id>/mount-id), and an overlay over its
// diff mounted at root (the container's "/").
type dockerLayer struct {
	upper, root       string
	disk, store, mnts string
}

func newDockerLayer(dataRoot, dir, id string) (*dockerLayer, error) {
	l := &dockerLayer{disk: filepath.Join(dir, id[:12]), store: filepath.Join(dataRoot, "overlay2", id[:12]),
		mnts: filepath.Join(dataRoot, "image/overlay2/layerdb/mounts", id), root: filepath.Join(os.TempDir(), "quell-bench-rootfs-"+id[:12])}
	for _, d := range []string{l.disk, l.store, l.mnts, l.root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			l.remove()
			return nil, err
		}
	}
	if err := unix.Mount(l.disk, l.store, "", unix.MS_BIND, ""); err != nil {
		l.remove()
		return nil, fmt.Errorf("bind %s at %s: %w", l.disk, l.store, err)
	}
	if err := os.WriteFile(filepath.Join(l.mnts, "mount-id"), []byte(id[:12]), 0o644); err != nil {
		l.remove()
		return nil, err
	}
	l.upper = filepath.Join(l.store, "diff")
	lower, work := filepath.Join(l.store, "lower"), filepath.Join(l.store, "work")
	for _, d := range []string{lower, l.upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			l.remove()
			return nil, err
		}
	}
	if err := unix.Mount("overlay", l.root, "overlay", 0, fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, l.upper, work)); err != nil {
		l.remove()
		return nil, fmt.Errorf("mount overlay at %s: %w", l.root, err)
	}
	return l, nil
}

func (l *dockerLayer) remove() {
	_ = unix.Unmount(l.root, unix.MNT_DETACH)
	_ = unix.Unmount(l.store, unix.MNT_DETACH)
	os.Remove(l.root)
	os.Remove(l.store)
	os.RemoveAll(l.mnts)
	os.RemoveAll(l.disk)
}
