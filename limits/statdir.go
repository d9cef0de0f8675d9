package limits

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// StatDir is a cgroup directory kept open for the loop's reads of its
// usage files, with its cpu.stat kept open too (see StatFile): the other
// files are opened by name relative to the directory (openat(2) with
// O_NOFOLLOW of a plain name: no path walk, nothing to resolve, no way
// out of the directory), read into one reused buffer and closed. An open
// directory costs the kernel a struct file, about 0.3 KiB; the open
// cpu.stat about 5 KiB.
//
// A StatDir is not safe for concurrent use, nor are StatDirs that share
// a buffer; the values its reads return do not point into the buffer.
type StatDir struct {
	dfd  int
	path string
	cpu  *StatFile
	buf  *[]byte
}

// OpenStatDir opens cgroup cg's directory and its cpu.stat. buf is the
// buffer its reads go through, which StatDirs read one at a time may
// share (a loop over thousands of cgroups then keeps one, not one each);
// nil gives it its own. Errors are OpenStatFile's.
func (f *FS) OpenStatDir(cg string, buf *[]byte) (*StatDir, error) {
	cpu, err := f.OpenStatFile(cg, "cpu.stat")
	if err != nil {
		return nil, err
	}
	d, err := f.dir(cg)
	if err != nil {
		cpu.Close()
		return nil, err
	}
	dfd, err := openNoSymlinks(d, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		cpu.Close()
		if isUnsafe(err) {
			return nil, fmt.Errorf("open %s: %w", d, err)
		}
		return nil, fmt.Errorf("open %s: %w", d, classify(d, err))
	}
	if buf == nil {
		buf = cpu.buf
	}
	cpu.buf = buf
	return &StatDir{dfd: dfd, path: d, cpu: cpu, buf: buf}, nil
}

// CPUStat reads and parses cpu.stat (StatFile.Read, ParseCPUStat):
// ErrGone once the cgroup is removed, also when one was made again at the
// same path (open a new StatDir then).
func (s *StatDir) CPUStat() (CPUStat, error) {
	b, err := s.cpu.Read()
	if err != nil {
		return CPUStat{}, err
	}
	c, err := parseCPUStatBytes(b)
	if err != nil {
		return CPUStat{}, fmt.Errorf("%s/cpu.stat: %w", s.path, err)
	}
	return c, nil
}

// Stats is FS.StatsOf of this cgroup.
func (s *StatDir) Stats(only map[string]bool) (Stats, error) {
	return statsOf(s.path, only, s.read)
}

// PSI reads one of the cgroup's pressure files (file is "cpu.pressure",
// "memory.pressure" or "io.pressure"), as ReadPSI does.
func (s *StatDir) PSI(file string) (PSI, error) {
	b, err := s.read(file)
	if err != nil {
		return PSI{}, fmt.Errorf("read pressure: %w", err)
	}
	p, err := parsePSIBytes(b)
	if err != nil {
		return PSI{}, fmt.Errorf("read pressure %s/%s: %w", s.path, file, err)
	}
	return p, nil
}

// Close closes the directory and cpu.stat. Closing twice is harmless.
func (s *StatDir) Close() error {
	if s.dfd < 0 {
		return nil
	}
	s.cpu.Close()
	err := unix.Close(s.dfd)
	s.dfd = -1
	return err
}

// read reads file, a plain name, into the buffer (valid until the next read).
// Errors are classified as readFile's.
func (s *StatDir) read(file string) ([]byte, error) {
	if s.dfd < 0 {
		return nil, fmt.Errorf("read %s/%s: %w", s.path, file, os.ErrClosed)
	}
	if err := checkName(file); err != nil {
		return nil, err
	}
	fd, err := openat(s.dfd, file, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW)
	if err != nil {
		p := s.path + "/" + file
		if err == unix.ELOOP {
			return nil, fmt.Errorf("read %s: a symlink: %w", p, ErrUnsafe)
		}
		return nil, fmt.Errorf("read %s: %w", p, classify(s.path, &os.PathError{Op: "open", Path: p, Err: err}))
	}
	b, err := readAllFDInto(fd, s.path, (*s.buf)[:0])
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", s.path, file, classify(s.path, err))
	}
	*s.buf = b[:0]
	return b, nil
}

// openat is openat(2) of name relative to dfd, retried on EINTR, without
// allocating for names up to 63 bytes.
func openat(dfd int, name string, flags int) (int, error) {
	var z [64]byte
	var p []byte
	if len(name) < len(z) {
		copy(z[:], name)
		z[len(name)] = 0
		p = z[:len(name)+1]
	} else {
		p = append([]byte(name), 0)
	}
	for {
		r, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dfd), uintptr(unsafe.Pointer(&p[0])), uintptr(flags), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}

// Current is FS.Current of this cgroup, each file opened relative to the
// kept-open directory (no path walk) and read into the shared buffer. A
// cgroup removed since the open answers ErrGone or ErrMissing: callers
// that cannot tell a recreated cgroup from a missing file read by path
// (FS.Current) after any error.
func (s *StatDir) Current(ws []Write) ([]Write, error) {
	read := func(_, file string) ([]byte, error) { return s.read(file) }
	out := make([]Write, 0, len(ws))
	var cache map[string]string
	if len(ws) > 1 {
		cache = make(map[string]string, len(ws))
	}
	for _, w := range ws {
		v, err := current(s.path, w, cache, read)
		if err != nil {
			return nil, err
		}
		out = append(out, Write{w.File, v})
	}
	return out, nil
}
