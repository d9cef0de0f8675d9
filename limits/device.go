package limits

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotBlockDevice: the path given to DeviceNumber is not a block device.
var ErrNotBlockDevice = errors.New("not a block device")

// DeviceNumber returns the major and minor number of the block device at
// path, following symlinks (/dev/disk/by-id/… works). A partition
// (/dev/vda1) yields its own numbers (254:1), not its disk's: the kernel's
// io.max and io.weight refuse partitions with ENODEV (blkcg_conf_open_bdev
// rejects bdev_is_partition), so callers that accept partition paths map
// them with WholeDisk first. Errors: the stat error (with path), or
// ErrNotBlockDevice for anything else (a regular file, a character device).
func DeviceNumber(path string) (major, minor uint32, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, fmt.Errorf("device %s: %w", path, &os.PathError{Op: "stat", Path: path, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, 0, fmt.Errorf("device %s: %w", path, ErrNotBlockDevice)
	}
	return unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)), nil
}

// WholeDisk maps a block device number to the whole disk it belongs to,
// using sysRoot/dev/block/MAJ:MIN (sysRoot is normally /sys): a partition
// has a "partition" file there and its parent directory is the disk. A
// whole disk maps to itself. Errors: the device is unknown to sysfs
// (wrapped fs.ErrNotExist), or its "dev" file is unreadable or malformed.
func WholeDisk(sysRoot string, major, minor uint32) (uint32, uint32, error) {
	link := filepath.Join(sysRoot, "dev", "block", fmt.Sprintf("%d:%d", major, minor))
	dir, err := filepath.EvalSymlinks(link)
	if err != nil {
		return 0, 0, fmt.Errorf("whole disk of %d:%d: %w", major, minor, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return major, minor, nil
		}
		return 0, 0, fmt.Errorf("whole disk of %d:%d: %w", major, minor, err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "dev"))
	if err != nil {
		return 0, 0, fmt.Errorf("whole disk of %d:%d: %w", major, minor, err)
	}
	ma, mi, err := parseDev(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, 0, fmt.Errorf("whole disk of %d:%d: %w", major, minor, err)
	}
	return ma, mi, nil
}
