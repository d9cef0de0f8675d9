package labkit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// bufferedWrite writes mib MiB to path with ordinary write()s of 1 MiB
// (through the page cache: the kernel's writeback sends them to the disk,
// charged to the writer's cgroup), then fsyncs, and prints the bytes
// written, the nanoseconds the write()s took and those until fsync
// returned.
func bufferedWrite(path string, mib int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i) | 1
	}
	start := time.Now()
	var n int64
	for i := 0; i < mib; i++ {
		w, err := f.Write(buf)
		n += int64(w)
		if err != nil {
			return fmt.Errorf("write %s at %d: %w", path, n, err)
		}
	}
	wrote := time.Since(start)
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	fmt.Printf("%d %d %d\n", n, wrote.Nanoseconds(), time.Since(start).Nanoseconds())
	return nil
}

// fill appends to path without CAP_SYS_RESOURCE (as a container writes)
// until a write is refused or mib MiB are written, and prints the bytes
// written and the error's name ("ok" when none stopped it).
func fill(path string, mib int) error {
	var n int64
	var werr error
	if err := WithoutSysResource(func() error { n, werr = FillUntil(path, int64(mib)<<20); return nil }); err != nil {
		return err
	}
	why := "ok"
	var errno unix.Errno
	switch {
	case errors.As(werr, &errno):
		why = unix.ErrnoName(errno)
	case werr != nil:
		return werr
	}
	fmt.Printf("%d %s\n", n, why)
	return nil
}

// directReadLoop reads path with O_DIRECT in 1 MiB page-aligned blocks from
// start to end, over and over, until killed.
func directReadLoop(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	buf, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	for off := int64(0); ; {
		n, err := unix.Pread(fd, buf, off)
		switch {
		case err != nil:
			return fmt.Errorf("%s at %d: %w", path, off, err)
		case n == 0 && off == 0:
			return fmt.Errorf("%s: %w", path, io.ErrUnexpectedEOF)
		case n == 0:
			off = 0
		default:
			off += int64(n)
		}
	}
}
