package projquota

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

func TestQuotaStructSizes(t *testing.T) {
	t.Parallel()
	for name, got := range map[string]uintptr{
		"fsxattr":       unsafe.Sizeof(fsxattr{}),
		"fs_disk_quota": unsafe.Sizeof(fsDiskQuota{}),
		"if_nextdqblk":  unsafe.Sizeof(ifDqblk{}),
		"fs_quota_stat": unsafe.Sizeof(fsQuotaStat{}),
	} {
		want := map[string]uintptr{"fsxattr": 28, "fs_disk_quota": 112, "if_nextdqblk": 72, "fs_quota_stat": 80}[name]
		if got != want {
			t.Errorf("sizeof(%s) = %d, want %d", name, got, want)
		}
	}
	// Offsets the kernel reads, from <linux/dqblk_xfs.h> and <linux/quota.h>.
	var d fsDiskQuota
	var q ifDqblk
	var s fsQuotaStat
	for name, c := range map[string][2]uintptr{
		"d_id":            {unsafe.Offsetof(d.ID), 4},
		"d_blk_hardlimit": {unsafe.Offsetof(d.BlkHard), 8},
		"d_ino_hardlimit": {unsafe.Offsetof(d.InoHard), 24},
		"d_bcount":        {unsafe.Offsetof(d.BCount), 40},
		"d_icount":        {unsafe.Offsetof(d.ICount), 48},
		"d_rtb_hardlimit": {unsafe.Offsetof(d.RtbHard), 72},
		"dqb_curspace":    {unsafe.Offsetof(q.CurSpace), 16},
		"dqb_valid":       {unsafe.Offsetof(q.Valid), 64},
		"dqb_id":          {unsafe.Offsetof(q.ID), 68},
		"qs_flags":        {unsafe.Offsetof(s.Flags), 2},
		"qs_uquota":       {unsafe.Offsetof(s.UQuota), 8},
		"qs_incoredqs":    {unsafe.Offsetof(s.InCoreDqs), 56},
	} {
		if c[0] != c[1] {
			t.Errorf("offsetof(%s) = %d, want %d", name, c[0], c[1])
		}
	}
}

func TestQuotaLimitEncoding(t *testing.T) {
	t.Parallel()
	x := xfsLimit(100001, ProjectLimit{Bytes: 10<<20 + 1, Inodes: 500})
	if x.BlkHard != 20481 || x.InoHard != 500 || x.ID != 100001 || x.Flags != fsProjQuota ||
		x.Version != fsDquotVersion || x.FieldMask != fsDqBhard|fsDqBsoft|fsDqIhard|fsDqIsoft || x.BlkSoft != 0 {
		t.Fatalf("xfs limit %+v", x)
	}
	e := ext4Limit(ProjectLimit{Bytes: 10 << 20, Inodes: 7})
	if e.BHardLimit != 10240 || e.IHardLimit != 7 || e.Valid != qifLimits {
		t.Fatalf("ext4 limit %+v", e)
	}
	// Read back in bytes.
	x.BCount, x.ICount = 8, 3
	if got := x.quota(); got.UsedBytes != 4096 || got.Limit.Bytes != 20481*512 || got.UsedInodes != 3 {
		t.Fatalf("xfs quota %+v", got)
	}
	e.CurSpace = 5000
	if got := e.quota(9); got.UsedBytes != 5000 || got.Limit.Bytes != 10<<20 || got.ID != 9 {
		t.Fatalf("ext4 quota %+v", got)
	}
	// Clearing is all zeros in the limit fields, with the mask still set.
	if z := xfsLimit(5, ProjectLimit{}); z.BlkHard != 0 || z.InoHard != 0 || z.FieldMask == 0 {
		t.Fatalf("clear %+v", z)
	}
}

func TestQuotaOffErrorSaysHowToFix(t *testing.T) {
	t.Parallel()
	err := quotaOffError("/srv", fsExt4)
	if !errors.Is(err, ErrQuotaOff) || !strings.Contains(err.Error(), "tune2fs -O project,quota") ||
		!strings.Contains(err.Error(), "prjquota") {
		t.Fatalf("ext4: %v", err)
	}
	if err := quotaOffError("/srv", fsXFS); !strings.Contains(err.Error(), "-o prjquota") {
		t.Fatalf("xfs: %v", err)
	}
}

const mountinfoSample = `22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
35 22 0:30 / /proc rw,nosuid - proc proc rw
40 22 254:16 / /mnt/xfs rw,relatime - xfs /dev/vdb rw,prjquota
41 40 254:32 / /mnt/xfs/inner\040dir rw - ext4 /dev/vdc rw,prjquota
42 22 254:16 / /mnt/xfsbis rw - xfs /dev/vdd rw
`

func TestMountinfo(t *testing.T) {
	t.Parallel()
	es, err := ParseMountinfo(strings.NewReader(mountinfoSample))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"/mnt/xfs":             "/dev/vdb",
		"/mnt/xfs/a/b":         "/dev/vdb",
		"/mnt/xfsbis/x":        "/dev/vdd", // not /mnt/xfs: prefix must end at a /
		"/mnt/xfs/inner dir/f": "/dev/vdc",
		"/etc":                 "/dev/vda1",
	} {
		e, ok := mountOf(es, p)
		if !ok || e.Source != want {
			t.Errorf("mountOf(%s) = %+v %v, want %s", p, e, ok, want)
		}
	}
	if _, err := ParseMountinfo(strings.NewReader("garbage line\n")); err == nil {
		t.Error("garbage parsed")
	}
	mi := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(mi, []byte(mountinfoSample), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := deviceOf(mi, "/proc"); err == nil {
		t.Error("proc has no block device, got one")
	}
}

type fakeIDs struct {
	ids []uint32
	err error
}

func (f *fakeIDs) ProjectIDsInUse(from uint32) ([]uint32, error) {
	var out []uint32
	for _, id := range f.ids {
		if id >= from {
			out = append(out, id)
		}
	}
	return out, f.err
}

func TestAllocatorSkipsCollisions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fs := &fakeIDs{ids: []uint32{5, 100000, 100002}}
	a, err := NewAllocator(dir, 100000, fs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint32{}
	for _, k := range []string{"c1", "c2", "c3"} {
		if got[k], err = a.Allocate(k); err != nil {
			t.Fatal(err)
		}
	}
	if got["c1"] != 100001 || got["c2"] != 100003 || got["c3"] != 100004 {
		t.Fatalf("allocated %v: must skip IDs on the filesystem and each other", got)
	}
	if id, _ := a.Allocate("c1"); id != 100001 {
		t.Fatalf("re-allocate c1 = %d", id)
	}
	// Persisted: a new allocator sees them, and does not reuse them.
	b, err := NewAllocator(dir, 100000, &fakeIDs{})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := b.Lookup("c2"); !ok || id != 100003 {
		t.Fatalf("reloaded c2 = %d %v", id, ok)
	}
	if id, _ := b.Allocate("c4"); id != 100000 {
		t.Fatalf("c4 = %d (100000 is free once the filesystem no longer uses it)", id)
	}
	if id, _ := b.Allocate("c5"); id != 100002 {
		t.Fatalf("c5 = %d", id)
	}
	// Released IDs come back.
	if err := b.Release("c2"); err != nil {
		t.Fatal(err)
	}
	if id, _ := b.Allocate("c6"); id != 100003 {
		t.Fatalf("c6 = %d, want released 100003", id)
	}
	if err := b.Release("nobody"); err != nil {
		t.Fatal(err)
	}
}

func TestAllocatorFailuresAssignNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := NewAllocator(dir, 100000, &fakeIDs{err: errors.New("quotactl: EIO")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate("c1"); err == nil {
		t.Fatal("allocated without knowing the filesystem's IDs")
	}
	if _, ok := a.Lookup("c1"); ok {
		t.Fatal("failed allocation was recorded")
	}
	if err := os.WriteFile(filepath.Join(dir, ProjectIDFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAllocator(dir, 100000, nil); err == nil {
		t.Fatal("corrupt state accepted")
	}
	ro := filepath.Join(t.TempDir(), "missing", "dir")
	a, _ = NewAllocator(ro, 100000, nil)
	if _, err := a.Allocate("c1"); err == nil {
		t.Fatal("allocation persisted nowhere")
	}
	if _, ok := a.Lookup("c1"); ok {
		t.Fatal("unpersisted allocation was recorded")
	}
	if _, err := NewAllocator(dir, 0, nil); err == nil {
		t.Fatal("base 0 accepted")
	}
}

func TestProjectIDOnUnsupportedFS(t *testing.T) {
	t.Parallel()
	// On tmpfs or overlay the ioctl is refused; the error names the path.
	dir := t.TempDir()
	if _, err := ProjectID(dir); err != nil && !strings.Contains(err.Error(), dir) {
		t.Fatalf("error does not name the path: %v", err)
	}
	if err := SetProjectID(filepath.Join(dir, "nope"), 1); err == nil {
		t.Fatal("missing dir accepted")
	}
}

func TestDeviceSameFilesystem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := Device(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := Device(sub); err != nil || b != a {
		t.Fatalf("Device(%s) = %d, %v; want %d, the device of its parent", sub, b, err, a)
	}
	missing := filepath.Join(dir, "nope")
	if _, err := Device(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Device of a missing path = %v, want an error naming it", err)
	}
}
