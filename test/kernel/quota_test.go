//go:build lab

// Real-kernel tests of limits' project quotas on the lab's XFS and ext4
// scratch disks (mounted with prjquota; paths in QUELL_LAB_XFS and
// QUELL_LAB_EXT4). A missing disk fails the test.
package kernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/test/labkit"
)

func quotaMount(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: the lab must mount this scratch disk", env)
	}
	return p
}

func TestQuotaXFS(t *testing.T)  { testQuota(t, quotaMount(t, "QUELL_LAB_XFS"), 100001) }
func TestQuotaExt4(t *testing.T) { testQuota(t, quotaMount(t, "QUELL_LAB_EXT4"), 100002) }

func testQuota(t *testing.T, mnt string, id uint32) {
	q := projquota.NewQuotas("")
	if err := q.Check(mnt); err != nil {
		t.Fatalf("Check(%s): %v", mnt, err)
	}
	dir := filepath.Join(mnt, fmt.Sprintf("c%d", id))
	if err := os.MkdirAll(filepath.Join(dir, "pre"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A file made before the project is set must be tagged by the walk.
	if err := os.WriteFile(filepath.Join(dir, "pre", "old"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	const limit = 8 << 20
	if err := q.Assign(dir, id, projquota.ProjectLimit{Bytes: limit, Inodes: 100}); err != nil {
		t.Fatal(err)
	}
	if got, err := projquota.ProjectID(filepath.Join(dir, "pre", "old")); err != nil || got != id {
		t.Fatalf("pre-existing file project = %d, %v; want %d", got, err, id)
	}
	var n int64
	err := labkit.WithoutSysResource(func() (err error) { n, err = labkit.FillUntil(filepath.Join(dir, "big"), 4*limit); return err })
	t.Logf("FIGURE quota %s bytes limit %d wrote %d (%.4f) err %v", filepath.Base(mnt), limit, n, float64(n)/limit, err)
	// XFS reports an exhausted project quota as ENOSPC (a project is
	// presented like a smaller filesystem), ext4 as EDQUOT.
	if !errors.Is(err, unix.EDQUOT) && !errors.Is(err, unix.ENOSPC) {
		pid, perr := projquota.ProjectID(filepath.Join(dir, "big"))
		u, uerr := q.ProjectUsage(mnt, id)
		t.Fatalf("write past the limit: %v, want EDQUOT/ENOSPC (file project %d %v, usage %+v %v)", err, pid, perr, u, uerr)
	}
	u, err := q.ProjectUsage(mnt, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE quota %s usage %+v", filepath.Base(mnt), u)
	if u.UsedBytes > limit+4096 || u.UsedBytes < limit-64<<10-4096 {
		t.Errorf("used %d bytes under a %d limit (want within a block / one write)", u.UsedBytes, limit)
	}
	if u.Limit.Bytes != limit || u.Limit.Inodes != 100 {
		t.Errorf("limits read back %+v", u.Limit)
	}
	// Raising lets writes continue.
	if err := q.SetProjectLimit(mnt, id, projquota.ProjectLimit{Bytes: 2 * limit, Inodes: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := labkit.FillUntil(filepath.Join(dir, "more"), 1<<20); err != nil {
		t.Fatalf("write after raising the limit: %v", err)
	}
	// Inode limit.
	os.Remove(filepath.Join(dir, "big"))
	os.Remove(filepath.Join(dir, "more"))
	made := 0
	err = labkit.WithoutSysResource(func() error {
		var err error
		switch made, err = labkit.CreateFiles(dir, 200); {
		case err == nil:
			return fmt.Errorf("created %d files under a 100-inode limit", made)
		case !errors.Is(err, unix.EDQUOT) && !errors.Is(err, unix.ENOSPC):
			return fmt.Errorf("create #%d: %v, want EDQUOT", made, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ = q.ProjectUsage(mnt, id)
	t.Logf("FIGURE quota %s inodes limit 100 created %d used %d", filepath.Base(mnt), made, u.UsedInodes)
	if u.UsedInodes != 100 {
		t.Errorf("inodes used %d, want exactly the limit 100", u.UsedInodes)
	}
	// IDs in use include ours.
	ids, err := q.ProjectIDsInUse(mnt, 100000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range ids {
		found = found || x == id
	}
	if !found {
		t.Errorf("ProjectIDsInUse = %v, missing %d", ids, id)
	}
	// Removal clears the limit.
	if err := q.Release(mnt, id); err != nil {
		t.Fatal(err)
	}
	u, _ = q.ProjectUsage(mnt, id)
	if u.Limit != (projquota.ProjectLimit{}) {
		t.Errorf("limits after Release: %+v", u.Limit)
	}
	if _, err := labkit.FillUntil(filepath.Join(dir, "free"), 2*limit); err != nil {
		t.Errorf("write after Release: %v", err)
	}
	os.RemoveAll(dir)
}
