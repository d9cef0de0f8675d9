package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// prepareGuest enables every cgroup v2 controller in the root's
// subtree_control, brings loopback up, mounts the scratch disks and turns
// swap on. It returns the command's environment.
func prepareGuest(j job) ([]string, error) {
	if err := enableControllers(cgroupRoot); err != nil {
		return nil, err
	}
	if err := loopbackUp(); err != nil {
		return nil, err
	}
	env := append([]string{}, j.Env...)
	for _, d := range j.Disks {
		dev, err := deviceBySerial("/sys/block", d.Serial)
		if err != nil {
			return nil, err
		}
		if d.FSType == "swap" {
			if err := swapOn(dev); err != nil {
				return nil, err
			}
		} else if err := mountAt(dev, d.Mount, d.FSType, 0, d.Options); err != nil {
			return nil, err
		}
		if d.EnvDev != "" {
			env = append(env, d.EnvDev+"="+dev)
		}
		if d.EnvPath != "" {
			env = append(env, d.EnvPath+"="+d.Mount)
		}
	}
	return env, nil
}

// enableControllers writes "+name" for each available controller into
// root/cgroup.subtree_control, one at a time so one refusal names itself.
func enableControllers(root string) error {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroup v2 is not mounted at %s: %w", root, err)
	}
	ctl := filepath.Join(root, "cgroup.subtree_control")
	for _, c := range strings.Fields(string(b)) {
		if err := os.WriteFile(ctl, []byte("+"+c), 0); err != nil {
			return fmt.Errorf("enable controller %s in %s: %w", c, ctl, err)
		}
	}
	return nil
}

// deviceBySerial finds /dev/vdX whose virtio serial is serial.
func deviceBySerial(sysBlock, serial string) (string, error) {
	paths, _ := filepath.Glob(filepath.Join(sysBlock, "*", "serial"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(b)) == serial {
			return "/dev/" + filepath.Base(filepath.Dir(p)), nil
		}
	}
	return "", fmt.Errorf("no block device with serial %q under %s", serial, sysBlock)
}

func swapOn(dev string) error {
	p, err := unix.BytePtrFromString(dev)
	if err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(p)), 0, 0); e != 0 {
		return fmt.Errorf("swapon %s: %w", dev, e)
	}
	return nil
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}
