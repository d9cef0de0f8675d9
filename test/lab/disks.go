package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// scratchDisks are made fresh on the host for every boot.
var scratchDisks = []struct {
	disk
	sizeMiB int64
	mkfs    []string
}{
	{disk{Name: "xfs", Serial: "quell-xfs", FSType: "xfs", Mount: "/mnt/xfs", Options: "prjquota",
		EnvPath: "QUELL_LAB_XFS", EnvDev: "QUELL_LAB_XFS_DEV"}, 1024, []string{"mkfs.xfs", "-q", "-f"}},
	{disk{Name: "ext4", Serial: "quell-ext4", FSType: "ext4", Mount: "/mnt/ext4", Options: "prjquota",
		EnvPath: "QUELL_LAB_EXT4", EnvDev: "QUELL_LAB_EXT4_DEV"}, 512,
		[]string{"mkfs.ext4", "-q", "-F", "-O", "quota,project", "-I", "256"}},
	// slow: a disk throttled by qemu to 16 MiB/s, so that a
	// few writers really queue ahead of a neighbour's reads (the other
	// disks are files in the host's page cache and never contend).
	{disk{Name: "slow", Serial: "quell-slow", FSType: "ext4", Mount: "/mnt/slow",
		EnvPath: "QUELL_LAB_SLOW", EnvDev: "QUELL_LAB_SLOW_DEV",
		Drive: "throttling.bps-total=16777216"}, 256, []string{"mkfs.ext4", "-q", "-F"}},
	{disk{Name: "swap", Serial: "quell-swap", FSType: "swap", EnvDev: "QUELL_LAB_SWAP_DEV"}, 1024,
		[]string{"mkswap"}},
}

// makeDisks creates the scratch images in dir and returns the guest's view
// of them and their image paths, in the same order.
func makeDisks(dir string) ([]disk, []string, error) {
	var disks []disk
	var images []string
	for _, s := range scratchDisks {
		img := filepath.Join(dir, s.Name+".img")
		f, err := os.Create(img)
		if err != nil {
			return nil, nil, fmt.Errorf("scratch disk %s: %w", s.Name, err)
		}
		err = f.Truncate(s.sizeMiB << 20)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("scratch disk %s: %w", s.Name, err)
		}
		args := append(append([]string{}, s.mkfs[1:]...), img)
		if out, err := exec.Command(s.mkfs[0], args...).CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w\n%s (install xfsprogs e2fsprogs: bin/lab prereqs)", s.mkfs[0], img, err, out)
		}
		disks = append(disks, s.disk)
		images = append(images, img)
	}
	return disks, images, nil
}
