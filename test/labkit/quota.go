package labkit

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// WithoutSysResource runs f on a thread without CAP_SYS_RESOURCE: the
// generic quota code (ext4) lets that capability ignore hard limits, and
// containers do not have it. Capabilities are per thread; the thread is
// never returned to the runtime.
func WithoutSysResource(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_RESOURCE
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// FillUntil appends 64 KiB chunks to path until a write fails or max
// bytes are written, then syncs. It returns the bytes written and the
// error that stopped it: nil when max was reached.
func FillUntil(path string, max int64) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	var n int64
	for n < max {
		w, err := f.Write(buf)
		n += int64(w)
		if err != nil {
			f.Close()
			return n, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}

// CreateFiles creates the empty files f0 … f<n-1> in dir until one fails.
// It returns how many it made and the error that stopped it: nil when it
// made all n.
func CreateFiles(dir string, n int) (int, error) {
	for i := 0; i < n; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		if err != nil {
			return i, err
		}
		f.Close()
	}
	return n, nil
}
