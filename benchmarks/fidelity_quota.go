package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/test/labkit"
)

// quotaCase: an 8 MiB / 100-inode project quota on the scratch XFS disk;
// a writer without CAP_SYS_RESOURCE fills it; usage by quotactl.
func quotaCase() Case {
	return Case{Section: Fidelity, Name: "disk quota xfs", Est: 6 * time.Second,
		Needs: func(e Env) string {
			if e.XFS == "" {
				return "no scratch XFS disk with prjquota (QUELL_LAB_XFS)"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, _ bool) ([]Result, error) {
			const id, limit, inodes = 190001, 8 << 20, 100
			q := projquota.NewQuotas("")
			if err := q.Check(env.XFS); err != nil {
				return nil, err
			}
			dir := filepath.Join(env.XFS, "bench-quota")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			defer q.Release(env.XFS, id)
			if err := q.Assign(dir, id, projquota.ProjectLimit{Bytes: limit, Inodes: inodes}); err != nil {
				return nil, err
			}
			var werr error
			_ = labkit.WithoutSysResource(func() error { _, werr = labkit.FillUntil(filepath.Join(dir, "big"), 4*limit); return nil })
			if werr == nil {
				werr = errors.New("not refused")
			}
			u, err := q.ProjectUsage(env.XFS, id)
			if err != nil {
				return nil, err
			}
			rs := []Result{Result{Control: "disk quota", Case: "quota bytes 8 MiB", Set: 8, Achieved: round(float64(u.UsedBytes)/(1<<20), 4), Unit: "MiB",
				Note:   fmt.Sprintf("writer stopped by: %v", werr),
				Method: "64 KiB appends until refused (no CAP_SYS_RESOURCE); project usage via quotactl"}.WithError()}
			os.Remove(filepath.Join(dir, "big"))
			made := 0
			_ = labkit.WithoutSysResource(func() error { made, _ = labkit.CreateFiles(dir, 2*inodes); return nil })
			u, err = q.ProjectUsage(env.XFS, id)
			if err != nil {
				return rs, err
			}
			rs = append(rs, Result{Control: "disk quota", Case: "quota inodes 100", Set: inodes, Achieved: float64(u.UsedInodes), Unit: "inodes",
				Extra:  map[string]float64{"files_created": float64(made)},
				Method: "create files until refused; project inode usage via quotactl (includes the dir)"}.WithError())
			return rs, nil
		}}
}
