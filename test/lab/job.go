package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The host and the guest share a per-boot job directory over 9p (mount tag
// "job", mounted at guestJobDir). The host writes job.json; the guest writes
// the command's exit status to "status" and may leave artifacts beside it.
const (
	guestLabDir   = "/lab"
	guestJobDir   = "/lab/job"
	guestBinDir   = "/lab/bin"
	guestLabBin   = "/lab/lab"
	jobFile       = "job.json"
	statusFile    = "status"
	modeFast      = "fast"
	modeSystemd   = "systemd"
	guestHostname = "quell-lab"
)

// disk is a scratch block device prepared on the host and mounted in the
// guest. The guest finds it by its virtio serial, not by probe order.
type disk struct {
	Name    string `json:"name"`   // xfs, ext4, swap
	Serial  string `json:"serial"` // virtio-blk serial, e.g. quell-xfs
	FSType  string `json:"fstype"` // xfs, ext4 or swap
	Mount   string `json:"mount"`  // guest mount point; empty for swap
	Options string `json:"options"`
	EnvPath string `json:"env_path"` // env var naming the mount point
	EnvDev  string `json:"env_dev"`  // env var naming the device node
	// Drive holds extra qemu -drive options (host side only), e.g. an
	// I/O throttle that makes the disk a contended resource.
	Drive string `json:"-"`
}

// job is everything the guest needs to know about one boot.
type job struct {
	Mode    string   `json:"mode"`
	Command string   `json:"command"`
	Env     []string `json:"env"` // KEY=VALUE, exported to the command
	Disks   []disk   `json:"disks"`
}

func writeJob(dir string, j job) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, jobFile), b, 0o644); err != nil {
		return fmt.Errorf("write job: %w", err)
	}
	return nil
}

func readJob(dir string) (job, error) {
	var j job
	b, err := os.ReadFile(filepath.Join(dir, jobFile))
	if err != nil {
		return j, fmt.Errorf("read job: %w", err)
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("parse %s: %w", filepath.Join(dir, jobFile), err)
	}
	return j, nil
}

// readStatus returns the exit status the guest recorded. A missing or
// malformed file means the command never finished.
func readStatus(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, statusFile))
	if err != nil {
		return 0, fmt.Errorf("guest recorded no exit status: %w", err)
	}
	var code int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d", &code); err != nil {
		return 0, fmt.Errorf("guest exit status %q: %w", b, err)
	}
	return code, nil
}

// baseEnv is the environment every guest command gets, before the disks'.
func baseEnv(mode string) []string {
	return []string{
		"QUELL_LAB=1",
		"QUELL_LAB_MODE=" + mode,
		"QUELL_LAB_BIN=" + guestBinDir,
		"QUELL_LAB_JOB=" + guestJobDir,
		"QUELL_LAB_CGROUP=/sys/fs/cgroup",
		"PATH=" + guestBinDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"TMPDIR=/tmp",
		"TERM=dumb",
		"LANG=C.UTF-8",
	}
}
