package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// readFloor is the CPU (% of one CPU) that reading one kept-open cpu.stat
// per cgroup once a second costs this machine: the least an enforcer pass
// over these cgroups can cost (quelld's idle pass does exactly this and
// little more), measured by the bench itself on one locked thread for
// win. Under emulation a syscall costs tens of µs, and this floor, not
// quelld's code, bounds the overhead row. At most floorFiles files are
// read (descriptors are limited) and the figure scaled to len(dirs).
func readFloor(dirs []string, win time.Duration) (float64, error) {
	n := len(dirs)
	dirs = dirs[:min(n, floorFiles)]
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fds := make([]int, 0, len(dirs))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, d := range dirs {
		fd, err := unix.Open(filepath.Join(d, "cpu.stat"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, fmt.Errorf("open %s: %w", d, err)
		}
		fds = append(fds, fd)
	}
	buf := make([]byte, 4096)
	cpu := func() time.Duration {
		var ru unix.Rusage
		if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpu(), time.Now()
	for next := t0; time.Since(t0) < win; {
		for _, fd := range fds {
			if _, err := unix.Pread(fd, buf, 0); err != nil {
				return 0, fmt.Errorf("pread cpu.stat: %w", os.NewSyscallError("pread", err))
			}
		}
		next = next.Add(time.Second)
		time.Sleep(time.Until(next))
	}
	pct := 100 * (cpu() - c0).Seconds() / time.Since(t0).Seconds()
	return pct * float64(n) / float64(len(dirs)), nil
}

// floorFiles: see readFloor.
const floorFiles = 2000
