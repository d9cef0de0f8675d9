package benchmarks

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// DetectEnv describes where this process runs: the lab's scratch disks and
// swap from its QUELL_LAB_* variables, the kernel, CPUs and memory.
func DetectEnv(cgroupRoot, procRoot string) Env {
	self, _ := os.Executable()
	e := Env{CgroupRoot: cgroupRoot, ProcRoot: procRoot, Ext4: os.Getenv("QUELL_LAB_EXT4"), Ext4Dev: os.Getenv("QUELL_LAB_EXT4_DEV"),
		XFS: os.Getenv("QUELL_LAB_XFS"), XFSDev: os.Getenv("QUELL_LAB_XFS_DEV"), Slow: os.Getenv("QUELL_LAB_SLOW"), SlowDev: os.Getenv("QUELL_LAB_SLOW_DEV"), Quelld: "quelld", Self: self}
	if b, err := os.ReadFile(procRoot + "/swaps"); err == nil {
		e.Swap = len(strings.Split(strings.TrimSpace(string(b)), "\n")) > 1
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		e.Systemd = true
	}
	var u unix.Utsname
	_ = unix.Uname(&u)
	var si unix.Sysinfo_t
	_ = unix.Sysinfo(&si)
	where := "host"
	if os.Getenv("QUELL_LAB") == "1" {
		where = "lab guest (" + os.Getenv("QUELL_LAB_MODE") + " mode, qemu TCG emulation)"
	}
	e.Label = fmt.Sprintf("%s: Linux %s, %d CPUs, %d MiB RAM, swap %v", where, unix.ByteSliceToString(u.Release[:]), runtime.NumCPU(),
		uint64(si.Totalram)*uint64(si.Unit)>>20, e.Swap)
	return e
}
