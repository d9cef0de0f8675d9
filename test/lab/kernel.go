package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// kernel is a bootable kernel image and its module directory.
type kernel struct {
	Version string
	Image   string // /boot/vmlinuz-<ver>
	ModDir  string // /lib/modules/<ver>
}

// findKernel picks the newest /boot/vmlinuz-* in bootDir whose modules are
// installed under modRoot. It fails, naming what it looked for, when there
// is none: the lab never falls back to "skip".
func findKernel(bootDir, modRoot string) (kernel, error) {
	images, err := filepath.Glob(filepath.Join(bootDir, "vmlinuz-*"))
	if err != nil {
		return kernel{}, err
	}
	var found []kernel
	for _, img := range images {
		ver := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
		mod := filepath.Join(modRoot, ver)
		if _, err := os.Stat(filepath.Join(mod, "modules.dep")); err == nil {
			found = append(found, kernel{Version: ver, Image: img, ModDir: mod})
		}
	}
	if len(found) == 0 {
		return kernel{}, fmt.Errorf("no kernel: no %s/vmlinuz-<ver> with %s/<ver>/modules.dep (install linux-image-amd64: bin/lab prereqs)", bootDir, modRoot)
	}
	sort.Slice(found, func(i, j int) bool { return modTime(found[i].Image) > modTime(found[j].Image) })
	return found[0], nil
}

func modTime(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.ModTime().UnixNano()
}
