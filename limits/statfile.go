package limits

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// StatFile is one cgroup file kept open for reads repeated every interval
// (the loop's cpu.stat of each container). A read is one pread(2) from
// offset 0, which makes cgroupfs (a seq_file) generate the content afresh;
// a fresh open, read and close per read cost three syscalls, a path walk
// and the kernel's allocations of an open file, about 3× as much. The cost
// is the open file itself: a struct file and a seq_file page in the
// kernel, about 5 KiB per StatFile, charged to the reader's cgroup.
//
// A StatFile is not safe for concurrent use. The bytes a Read returns are
// valid until the next Read or Close.
type StatFile struct {
	fd   int
	path string
	buf  *[]byte // the read buffer, maybe shared (see OpenStatDir)
	// notCgroupfs: the file is not on cgroup2fs (a test tree), where a
	// removed file reads on instead of answering ENODEV; each Read then
	// checks that it still has a name.
	notCgroupfs bool
	st          unix.Stat_t
}

// OpenStatFile opens file of cgroup cg for repeated reads, refusing
// symlinks as Read does. Errors: ErrUnsafe, ErrGone (no such cgroup),
// ErrMissing (no such file), or the wrapped I/O error.
func (f *FS) OpenStatFile(cg, file string) (*StatFile, error) {
	if err := checkName(file); err != nil {
		return nil, err
	}
	d, err := f.dir(cg)
	if err != nil {
		return nil, err
	}
	p := d + "/" + file
	fd, err := openNoSymlinks(p, unix.O_RDONLY)
	if err != nil {
		if isUnsafe(err) {
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
		return nil, fmt.Errorf("open %s: %w", p, classify(d, err))
	}
	b := make([]byte, 0, 512)
	s := &StatFile{fd: fd, path: p, buf: &b}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil || sfs.Type != unix.CGROUP2_SUPER_MAGIC {
		s.notCgroupfs = true
	}
	return s, nil
}

// Read returns the file's current content. A cgroup removed since the
// open answers ENODEV: that is ErrGone (the file stays open until Close;
// a cgroup made again at the same path needs a new OpenStatFile). It does
// not allocate unless the content outgrows the buffer. Off cgroupfs (a
// test tree) a file removed since the open is ErrGone too.
func (s *StatFile) Read() ([]byte, error) {
	if s.fd < 0 {
		return nil, fmt.Errorf("read %s: %w", s.path, os.ErrClosed)
	}
	if s.notCgroupfs {
		if err := unix.Fstat(s.fd, &s.st); err == nil && s.st.Nlink == 0 {
			return nil, fmt.Errorf("read %s: removed: %w", s.path, ErrGone)
		}
	}
	for {
		if cap(*s.buf) < 512 {
			*s.buf = make([]byte, 0, 512)
		}
		buf := (*s.buf)[:cap(*s.buf)]
		n, err := unix.Pread(s.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if errors.Is(err, unix.ENODEV) {
				return nil, fmt.Errorf("read %s: %w: %w", s.path, ErrGone, err)
			}
			return nil, &os.PathError{Op: "read", Path: s.path, Err: err}
		}
		if n < len(buf) {
			return buf[:n], nil
		}
		// Filled: the content may be longer. Read it all again, whole, into
		// a larger buffer (a seq_file is consistent per read from 0 only).
		*s.buf = make([]byte, 0, 2*len(buf))
	}
}

// Close closes the file; later Reads fail. Closing twice is harmless.
func (s *StatFile) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// ParseCPUStat parses the content of cpu.stat (as StatFile.Read returns
// it) without allocating; see CPUStat for the fields and ErrSyntax for
// content that is not cpu.stat.
func ParseCPUStat(b []byte) (CPUStat, error) { return parseCPUStatBytes(b) }
