package systemd

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DevicePaths returns a devicePath function for Properties that finds the
// node of block device major:minor from sysRoot/dev/block/M:m/uevent
// (DEVNAME=vda → devRoot/vda). It does not depend on udev's /dev/block
// links. Pass "/sys" and "/dev" on a real host.
func DevicePaths(sysRoot, devRoot string) func(major, minor uint32) (string, error) {
	return func(major, minor uint32) (string, error) {
		uevent := filepath.Join(sysRoot, "dev", "block", fmt.Sprintf("%d:%d", major, minor), "uevent")
		b, err := os.ReadFile(uevent)
		if err != nil {
			return "", fmt.Errorf("block device %d:%d: %w", major, minor, err)
		}
		name, err := parseDevName(b)
		if err != nil {
			return "", fmt.Errorf("%s: %w", uevent, err)
		}
		return filepath.Join(devRoot, name), nil
	}
}

// parseDevName returns DEVNAME from a uevent file.
func parseDevName(b []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "DEVNAME="); ok {
			v = strings.TrimSpace(v)
			if v == "" || strings.Contains(v, "..") {
				return "", fmt.Errorf("bad DEVNAME %q", v)
			}
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no DEVNAME")
}
