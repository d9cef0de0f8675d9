package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/limits/projquota"
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
			_ = withoutSysResource(func() error { werr = fill(filepath.Join(dir, "big"), 4*limit); return nil })
			u, err := q.ProjectUsage(env.XFS, id)
			if err != nil {
				return nil, err
			}
			rs := []Result{Result{Control: "disk quota", Case: "quota bytes 8 MiB", Set: 8, Achieved: round(float64(u.UsedBytes)/(1<<20), 4), Unit: "MiB",
				Note:   fmt.Sprintf("writer stopped by: %v", werr),
				Method: "64 KiB appends until refused (no CAP_SYS_RESOURCE); project usage via quotactl"}.WithError()}
			os.Remove(filepath.Join(dir, "big"))
			made := 0
			_ = withoutSysResource(func() error {
				for i := 0; i < 2*inodes; i++ {
					f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%d", i)))
					if err != nil {
						return err
					}
					f.Close()
					made++
				}
				return nil
			})
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

func fill(path string, max int64) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := int64(0); n < max; n += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return errors.New("not refused")
}

// withoutSysResource runs f on a thread without CAP_SYS_RESOURCE (which
// lets the generic quota code ignore hard limits; containers lack it).
// The thread is never returned to the runtime.
func withoutSysResource(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_RESOURCE
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}
