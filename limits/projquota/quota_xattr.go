package projquota

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fsxattr is struct fsxattr from <linux/fs.h> (28 bytes).
type fsxattr struct {
	XFlags     uint32
	ExtSize    uint32
	NExtents   uint32
	ProjID     uint32
	CowExtSize uint32
	Pad        [8]byte
}

const (
	fsIocFsGetXattr    = 0x801c581f // _IOR('X', 31, struct fsxattr)
	fsIocFsSetXattr    = 0x401c5820 // _IOW('X', 32, struct fsxattr)
	fsXflagProjInherit = 0x00000200
)

func getXattr(fd int) (fsxattr, error) {
	var x fsxattr
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFsGetXattr, uintptr(unsafe.Pointer(&x)))
	if e != 0 {
		return x, e
	}
	return x, nil
}

func setXattr(fd int, x *fsxattr) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFsSetXattr, uintptr(unsafe.Pointer(x)))
	if e != 0 {
		return e
	}
	return nil
}

// ProjectID returns the project ID of the file or directory at path
// (0 if it was never set).
func ProjectID(path string) (uint32, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return 0, fmt.Errorf("project ID of %s: %w", path, err)
	}
	defer unix.Close(fd)
	x, err := getXattr(fd)
	if err != nil {
		return 0, fmt.Errorf("project ID of %s: FS_IOC_FSGETXATTR: %w", path, err)
	}
	return x.ProjID, nil
}

// SetProjectID tags dir and everything already below it with project id,
// and sets FS_XFLAG_PROJINHERIT on dir and its subdirectories so files
// created later inherit it. Only regular files and directories are tagged:
// symlinks, devices, sockets and FIFOs cannot carry the attribute and are
// skipped; the walk does not follow symlinks or leave the filesystem.
// Entries that vanish during the walk are skipped; any other failure stops
// it and is returned with the path (the tree is then partly tagged, and
// running SetProjectID again finishes it).
//
// It does not check that project quota is on: use Quotas.Assign for that.
func SetProjectID(dir string, id uint32) error {
	var rootDev uint64
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("set project ID on %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("set project ID on %s: not a directory", dir)
	}
	rootDev = st.Dev
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("set project ID: walk %s: %w", p, err)
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		if d.IsDir() && p != dir {
			var s unix.Stat_t
			if err := unix.Lstat(p, &s); err == nil && s.Dev != rootDev {
				return filepath.SkipDir // another mount
			}
		}
		err = setOne(p, id, d.IsDir())
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// setOne sets the project ID (and PROJINHERIT on directories) on path.
func setOne(path string, id uint32, isDir bool) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("set project ID on %s: %w", path, os.NewSyscallError("open", err))
	}
	defer unix.Close(fd)
	x, err := getXattr(fd)
	if err != nil {
		return fmt.Errorf("set project ID on %s: FS_IOC_FSGETXATTR: %w", path, err)
	}
	want := x
	want.ProjID = id
	if isDir {
		want.XFlags |= fsXflagProjInherit
	}
	if want == x {
		return nil
	}
	if err := setXattr(fd, &want); err != nil {
		return fmt.Errorf("set project ID on %s: FS_IOC_FSSETXATTR: %w", path, err)
	}
	return nil
}
