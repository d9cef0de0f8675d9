package limits

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/internal/testenv"
)

func TestDeviceNumber(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := filepath.Join(dir, "file")
	os.WriteFile(reg, nil, 0o644)
	if _, _, err := DeviceNumber(reg); !errors.Is(err, ErrNotBlockDevice) {
		t.Errorf("regular file: %v", err)
	}
	if _, _, err := DeviceNumber("/dev/null"); !errors.Is(err, ErrNotBlockDevice) {
		t.Errorf("char device: %v", err)
	}
	if _, _, err := DeviceNumber(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	blk := filepath.Join(dir, "vdb1")
	if err := unix.Mknod(blk, unix.S_IFBLK|0o600, int(unix.Mkdev(254, 17))); err != nil {
		testenv.SkipUnlessCI(t, "mknod needs CAP_MKNOD: %v", err)
	}
	link := filepath.Join(dir, "by-id")
	os.Symlink(blk, link)
	if ma, mi, err := DeviceNumber(link); err != nil || ma != 254 || mi != 17 {
		t.Errorf("DeviceNumber(block via symlink) = %d:%d, %v", ma, mi, err)
	}
}

func TestWholeDisk(t *testing.T) {
	t.Parallel()
	sys := fakeTree(t, map[string]string{
		"devices/virtual/block/vda/dev":            "254:0\n",
		"devices/virtual/block/vda/vda1/dev":       "254:1\n",
		"devices/virtual/block/vda/vda1/partition": "1\n",
		"devices/virtual/block/vdb/dev":            "garbage\n",
		"devices/virtual/block/vdb/vdb1/partition": "1\n",
	})
	os.MkdirAll(filepath.Join(sys, "dev", "block"), 0o755)
	for dev, target := range map[string]string{
		"254:0":  "../../devices/virtual/block/vda",
		"254:1":  "../../devices/virtual/block/vda/vda1",
		"254:17": "../../devices/virtual/block/vdb/vdb1",
	} {
		os.Symlink(target, filepath.Join(sys, "dev", "block", dev))
	}
	for _, tc := range []struct {
		ma, mi, wantMa, wantMi uint32
		fail                   bool
	}{
		{254, 1, 254, 0, false},
		{254, 0, 254, 0, false},
		{254, 17, 0, 0, true},
		{8, 0, 0, 0, true},
	} {
		ma, mi, err := WholeDisk(sys, tc.ma, tc.mi)
		if (err != nil) != tc.fail || ma != tc.wantMa || mi != tc.wantMi {
			t.Errorf("WholeDisk(%d:%d) = %d:%d, %v", tc.ma, tc.mi, ma, mi, err)
		}
	}
}
