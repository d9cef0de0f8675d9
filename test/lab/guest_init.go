package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The guest side of the lab. The lab binary itself is the initramfs /init:
// stage one (this file) loads the modules, mounts the host root read-only
// over 9p under a tmpfs overlay and switches into it; then, in fast mode,
// it stays PID 1 and runs "lab guest-run" as its only child (guest_fast.go),
// or, in systemd mode, it installs the lab units and execs systemd
// (guest_systemd.go). It must never write to the host: the host root is
// read-only and only the job directory is shared writable.

const (
	initModList = "/lab/modules.list"
	lowerDir    = "/lower"
	upperDir    = "/upper"
	newRoot     = "/newroot"
)

// guestInit is stage one. It never returns: on failure it prints why on
// the console and powers the guest off, which the host reports as a boot
// failure with the console tail.
func guestInit() {
	if err := stageOne(); err != nil {
		fmt.Fprintf(os.Stderr, "quell-lab init: FATAL: %v\n", err)
		powerOff()
	}
}

func stageOne() error {
	for _, m := range []struct{ src, dst, fs string }{
		{"devtmpfs", "/dev", "devtmpfs"}, {"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"},
	} {
		if err := mountAt(m.src, m.dst, m.fs, 0, ""); err != nil {
			return err
		}
	}
	mode, err := cmdlineValue("/proc/cmdline", "quell.mode")
	if err != nil {
		return err
	}
	say("quell-lab init: %s mode, loading modules", mode)
	if err := loadModuleList(initModList); err != nil {
		return err
	}
	if err := mountRoot(); err != nil {
		return err
	}
	if err := switchRoot(newRoot); err != nil {
		return err
	}
	say("quell-lab init: host root mounted read-only (9p + tmpfs overlay)")
	switch mode {
	case modeFast:
		return fastInit()
	case modeSystemd:
		return execSystemd()
	}
	return fmt.Errorf("unknown quell.mode %q on the kernel command line", mode)
}

// mountRoot builds /newroot: host root (9p, read-only) + tmpfs upper, with
// the job and bin shares and the lab binary under /lab.
func mountRoot() error {
	opts := "trans=virtio,version=9p2000.L,msize=262144"
	if err := mountAt("hostroot", lowerDir, "9p", unix.MS_RDONLY, opts+",cache=loose"); err != nil {
		if err2 := mountAt("hostroot", lowerDir, "9p", unix.MS_RDONLY, opts); err2 != nil {
			return fmt.Errorf("%v; without cache: %v", err, err2)
		}
	}
	if err := mountAt("upper", upperDir, "tmpfs", 0, "mode=0755"); err != nil {
		return err
	}
	for _, d := range []string{upperDir + "/u", upperDir + "/w"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	ovl := fmt.Sprintf("lowerdir=%s,upperdir=%s/u,workdir=%s/w", lowerDir, upperDir, upperDir)
	if err := mountAt("overlay", newRoot, "overlay", 0, ovl); err != nil {
		return err
	}
	if err := mountAt("job", newRoot+guestJobDir, "9p", 0, opts); err != nil {
		return err
	}
	// bin/ does not change during a boot: let the guest cache it (cache=loose),
	// so each exec of quelld or a test binary is not re-read over 9p (measured:
	// 6-8 s per quelld start uncached on a busy host).
	if err := mountAt("bin", newRoot+guestBinDir, "9p", unix.MS_RDONLY, opts+",cache=loose"); err != nil {
		return err
	}
	if err := copyFile("/init", newRoot+guestLabBin, 0o755); err != nil {
		return err
	}
	if err := mountAt("tmpfs", newRoot+"/tmp", "tmpfs", 0, "mode=1777"); err != nil {
		return err
	}
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		if err := unix.Mount(d, newRoot+d, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s into the new root: %w", d, err)
		}
	}
	return nil
}

// switchRoot makes dir the root, as busybox switch_root does (the initramfs
// contents stay behind; they are small).
func switchRoot(dir string) error {
	if err := os.Chdir(dir); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", dir, err)
	}
	return os.Chdir("/")
}

// loadModuleList insmods every module named in list ("path optional" per
// line, dependencies first, written by the host).
func loadModuleList(list string) error {
	f, err := os.Open(list)
	if err != nil {
		return fmt.Errorf("read module list: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		path, opt, _ := strings.Cut(s.Text(), " ")
		if err := insmod(path); err != nil {
			if opt == "optional" {
				fmt.Fprintf(os.Stderr, "quell-lab init: optional module: %v\n", err)
				continue
			}
			return err
		}
	}
	return s.Err()
}

func insmod(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("insmod %s: %w", path, err)
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if err != nil && err != unix.EEXIST {
		return fmt.Errorf("insmod %s: %w", path, err)
	}
	return nil
}

func mountAt(src, dst, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("mount %s: %w", dst, err)
	}
	if err := unix.Mount(src, dst, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s %s on %s (%s): %w", fstype, src, dst, data, err)
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.MkdirAll(dirOf(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, perm); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}

func dirOf(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return "/"
}

// cmdlineValue returns the value of key=value in a kernel command line file.
func cmdlineValue(path, key string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s= missing from %s", key, path)
}

// say prints a progress line on the kernel console (console.log on the host).
func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func powerOff() {
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		syscall.Pause()
	}
}
