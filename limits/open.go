package limits

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2(2) answers ENOSYS (kernels before 5.6).
var noOpenat2 atomic.Bool

// openNoSymlinks opens path with the kernel refusing a symlink anywhere in
// it (openat2 RESOLVE_NO_SYMLINKS): a cgroup directory swapped for a
// symlink after it was resolved cannot lead a read or write out of the
// root. Before 5.6 it falls back to O_NOFOLLOW, which guards the last
// element only (the resolution in FS.dir guards the rest). Raw syscalls:
// os.OpenFile adds an fcntl and the poller's bookkeeping to every one of
// the ~15 files the loop opens per container per interval.
func openNoSymlinks(path string, flags int) (int, error) {
	return openRaw(path, flags, true)
}

// openRaw opens path with O_NOFOLLOW and, with noSymlinks, refuses a
// symlink anywhere on the way.
func openRaw(path string, flags int, noSymlinks bool) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if noSymlinks && !noOpenat2.Load() {
		for {
			fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{Flags: uint64(flags),
				Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
			switch {
			case err == unix.EINTR || err == unix.EAGAIN:
				continue
			case err == unix.ENOSYS:
				noOpenat2.Store(true)
			case err == unix.EPERM:
				// A seccomp filter that predates openat2 (some container
				// runtimes' defaults) answers EPERM. If a plain open of the
				// same path works, that was it: stop asking.
				if fd, err2 := openPlain(path, flags); err2 == nil {
					noOpenat2.Store(true)
					return fd, nil
				}
				return -1, &os.PathError{Op: "open", Path: path, Err: err}
			case err == unix.ELOOP:
				return -1, fmt.Errorf("%s: a symlink on the way: %w", path, ErrUnsafe)
			case err != nil:
				return -1, &os.PathError{Op: "open", Path: path, Err: err}
			default:
				return fd, nil
			}
			break
		}
	}
	fd, err := openPlain(path, flags)
	if err == unix.ELOOP {
		return -1, fmt.Errorf("%s: a symlink: %w", path, ErrUnsafe)
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

// openPlain is open(2), retried on EINTR.
func openPlain(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// readAllFD reads fd to its end. A short read is the end: cgroupfs and
// procfs files are seq_files, which fill the buffer unless they ran out.
func readAllFD(fd int, path string) ([]byte, error) {
	return readAllFDInto(fd, path, make([]byte, 0, 256))
}

// readAllFDInto is readAllFD appending to buf (which it grows as needed).
func readAllFDInto(fd int, path string, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		space := cap(buf) - len(buf)
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		buf = buf[:len(buf)+n]
		if n == 0 || n < space {
			return buf, nil
		}
	}
}

// isUnsafe reports whether err is a refusal (nothing to classify).
func isUnsafe(err error) bool { return errors.Is(err, ErrUnsafe) }
