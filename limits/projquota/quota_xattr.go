package projquota

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
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
// skipped. Entries that vanish during the walk are skipped; any other
// failure stops it and is returned with the path (the tree is then partly
// tagged, and running SetProjectID again finishes it).
//
// The tree belongs to a container, which may rename, swap and symlink its
// entries while the walk runs. So the walk never resolves a path below
// dir: it opens dir itself (no symlink anywhere on the way) and then each
// entry by its single name relative to its parent's open descriptor, with
// openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV (O_NOFOLLOW
// openat where openat2 is refused), first as an O_PATH handle. An entry
// swapped for a symlink is never followed, a mount point below dir is not
// entered, a device node is never opened, and what is tagged is the object
// the descriptor holds (checked with fstat), whatever the name points at by
// then. Depth is capped at
// maxWalkDepth (one descriptor is held per level); a deeper tree is an
// error.
//
// It does not check that project quota is on: use Quotas.Assign for that.
func SetProjectID(dir string, id uint32) error {
	fd, err := openBeneath(unix.AT_FDCWD, dir, unix.O_DIRECTORY, true)
	if err != nil {
		return fmt.Errorf("set project ID on %s: %w", dir, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("set project ID on %s: %w", dir, os.NewSyscallError("fstat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("set project ID on %s: not a directory", dir)
	}
	w := walker{dev: st.Dev, tag: func(fd int, path string, isDir bool) error { return setOneFD(fd, path, id, isDir) }}
	return w.dir(fd, dir, 0)
}

// maxWalkDepth bounds how deep SetProjectID descends (and so how many
// descriptors it holds at once).
const maxWalkDepth = 512

// walker walks one tree: every directory and regular file on filesystem
// dev below the top is handed, open, to tag.
type walker struct {
	dev uint64
	tag func(fd int, path string, isDir bool) error
}

// dir tags the directory open at fd (named path, for errors) and walks its
// entries.
func (w walker) dir(fd int, path string, depth int) error {
	if depth > maxWalkDepth {
		return fmt.Errorf("set project ID on %s: deeper than %d levels", path, maxWalkDepth)
	}
	if err := w.tag(fd, path, true); err != nil {
		return err
	}
	names, err := readDirNames(fd)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked
		}
		return fmt.Errorf("set project ID: list %s: %w", path, err)
	}
	for _, name := range names {
		if err := w.entry(fd, path, name, depth); err != nil {
			return err
		}
	}
	return nil
}

// entry tags name below the directory open at parent. It first opens the
// entry as an O_PATH handle (no open of the file itself, so a device node a
// tenant made is never opened and no driver's open runs), checks with fstat
// that it is a directory or regular file on the same filesystem, and only
// then reopens that same object (through /proc/self/fd) to tag it.
func (w walker) entry(parent int, parentPath, name string, depth int) error {
	p := filepath.Join(parentPath, name)
	pfd, err := openBeneath(parent, name, unix.O_PATH, false)
	switch {
	case err == nil:
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV), errors.Is(err, fs.ErrNotExist):
		return nil // a symlink (perhaps swapped in just now), a mount point, or gone
	default:
		return fmt.Errorf("set project ID on %s: %w", p, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("set project ID on %s: %w", p, os.NewSyscallError("fstat", err))
	}
	kind := st.Mode & unix.S_IFMT
	if st.Dev != w.dev || kind != unix.S_IFDIR && kind != unix.S_IFREG {
		return nil // another filesystem mounted below, a symlink, a device, a FIFO, a socket
	}
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
	if kind == unix.S_IFDIR {
		flags |= unix.O_DIRECTORY
	}
	fd, err := openatRetry(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(pfd), flags)
	if err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return fmt.Errorf("set project ID on %s: reopen: %w", p, os.NewSyscallError("open", err))
	}
	defer unix.Close(fd)
	if kind == unix.S_IFDIR {
		return w.dir(fd, p, depth+1)
	}
	return w.tag(fd, p, false)
}

// readDirNames lists the directory open at fd (without "." and ".."),
// leaving fd itself open and its offset unchanged for the caller.
func readDirNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, os.NewSyscallError("openat", err)
	}
	f := os.NewFile(uintptr(dup), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// noOpenat2 is set once openat2(2) is unavailable (ENOSYS before 5.6, or
// EPERM from a seccomp filter that predates it).
var noOpenat2 atomic.Bool

// openBeneath opens name relative to dirfd read-only, refusing symlinks
// (anywhere in name with openat2; in its last element with the O_NOFOLLOW
// fallback, which is enough for the single names the walk opens) and, for
// names below a directory (beneath), a path that leaves it or crosses a
// mount.
func openBeneath(dirfd int, name string, flags int, top bool) (int, error) {
	flags |= unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW
	resolve := uint64(unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS)
	if !top {
		resolve |= unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV
	}
	for !noOpenat2.Load() {
		fd, err := unix.Openat2(dirfd, name, &unix.OpenHow{Flags: uint64(flags), Resolve: resolve})
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR, unix.EAGAIN:
			continue
		case unix.ENOSYS, unix.EPERM:
			if err == unix.EPERM {
				// Only a seccomp filter's EPERM if a plain openat works.
				fd2, err2 := openatRetry(dirfd, name, flags)
				if err2 != nil {
					return -1, os.NewSyscallError("openat2", err)
				}
				noOpenat2.Store(true)
				if !top && strings.ContainsRune(name, '/') {
					unix.Close(fd2)
					return -1, fmt.Errorf("%s: a path, not a name: %w", name, unix.EXDEV)
				}
				return fd2, nil
			}
			noOpenat2.Store(true)
		default:
			return -1, os.NewSyscallError("openat2", err)
		}
	}
	if !top && strings.ContainsRune(name, '/') {
		return -1, fmt.Errorf("%s: a path, not a name: %w", name, unix.EXDEV)
	}
	fd, err := openatRetry(dirfd, name, flags)
	if err != nil {
		return -1, os.NewSyscallError("openat", err)
	}
	return fd, nil
}

func openatRetry(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// setOneFD sets the project ID (and PROJINHERIT on directories) on the
// file open at fd (named path, for errors).
func setOneFD(fd int, path string, id uint32, isDir bool) error {
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
