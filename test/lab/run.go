package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runOptions configure one "lab run".
type runOptions struct {
	Mode     string
	Timeout  time.Duration
	MemMiB   int
	Accel    string
	BinDir   string
	CacheDir string
	BootDir  string
	ModRoot  string
	Busybox  string
	Keep     bool
	Command  string
	Stdout   io.Writer
	Log      io.Writer // the lab's own messages (stderr)
}

// errGuest marks a failure of the lab or the guest itself (no kernel, boot
// failure, timeout), as opposed to the command exiting non-zero.
var errGuest = errors.New("lab guest failed")

// runLab boots a guest, runs opts.Command in it and returns the command's
// exit status. Any error is a failure of the lab, never a skip.
func runLab(ctx context.Context, o runOptions) (int, error) {
	if o.Mode != modeFast && o.Mode != modeSystemd {
		return 0, fmt.Errorf("unknown mode %q (fast or systemd)", o.Mode)
	}
	qemuBin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return 0, fmt.Errorf("%w: qemu-system-x86_64 not found (run bin/lab prereqs)", errGuest)
	}
	initrd, k, err := guestImage(o)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errGuest, err)
	}
	binDir, err := filepath.Abs(o.BinDir)
	if err != nil {
		return 0, err
	}
	if fi, err := os.Stat(binDir); err != nil || !fi.IsDir() {
		return 0, fmt.Errorf("%w: bin dir %s: not a directory (run make build)", errGuest, binDir)
	}
	runDir, err := os.MkdirTemp("", "quell-lab-")
	if err != nil {
		return 0, err
	}
	jobDir := filepath.Join(runDir, "job")
	if err := os.Mkdir(jobDir, 0o755); err != nil {
		return 0, err
	}
	ok := false
	defer func() { cleanupRunDir(runDir, o.Keep || !ok, o.Log) }()

	disks, images, err := makeDisks(runDir)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errGuest, err)
	}
	j := job{Mode: o.Mode, Command: o.Command, Env: baseEnv(o.Mode), Disks: disks}
	if err := writeJob(jobDir, j); err != nil {
		return 0, err
	}
	args := qemuArgs(qemuConfig{Kernel: k.Image, Initramfs: initrd, Mode: o.Mode, MemMiB: o.MemMiB,
		CPUs: 2, Accel: o.Accel, RunDir: runDir, JobDir: jobDir, BinDir: binDir, HostRoot: "/",
		Images: images, Disks: disks})

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var qemuErr bytes.Buffer
	cmd := exec.CommandContext(ctx, qemuBin, args...)
	cmd.Stdout = struct{ io.Writer }{o.Stdout} // a pipe: qemu must not touch our terminal's flags
	cmd.Stderr = &qemuErr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)

	if ctx.Err() == context.DeadlineExceeded {
		return 0, fmt.Errorf("%w: timed out after %v (%s mode); guest console tail:\n%s",
			errGuest, o.Timeout, o.Mode, consoleTail(runDir, 40))
	}
	code, statusErr := readStatus(jobDir)
	if statusErr != nil {
		return 0, fmt.Errorf("%w: %v (qemu: %v %s); guest console tail:\n%s", errGuest, statusErr,
			runErr, strings.TrimSpace(qemuErr.String()), consoleTail(runDir, 40))
	}
	fmt.Fprintf(o.Log, "lab: %s guest (%s): command started %ss after kernel start; %.1fs wall in total; exit status %d\n",
		o.Mode, o.Accel, readTrim(filepath.Join(jobDir, "boot-seconds")), wall.Seconds(), code)
	ok = true
	return code, nil
}

// guestImage finds the kernel and builds (or reuses) the initramfs.
func guestImage(o runOptions) (string, kernel, error) {
	k, err := findKernel(o.BootDir, o.ModRoot)
	if err != nil {
		return "", k, err
	}
	idx, err := loadModuleIndex(k.ModDir)
	if err != nil {
		return "", k, err
	}
	mods, err := idx.resolveModules(guestModules)
	if err != nil {
		return "", k, err
	}
	self, err := os.Executable()
	if err != nil {
		return "", k, err
	}
	if _, err := os.Stat(o.Busybox); err != nil {
		return "", k, fmt.Errorf("busybox: %w (install busybox-static: bin/lab prereqs)", err)
	}
	path, built, err := buildInitramfs(o.CacheDir, initramfsInputs{Kernel: k, Modules: mods, Init: self, Busybox: o.Busybox})
	if err == nil && built {
		fmt.Fprintf(o.Log, "lab: built guest image %s (kernel %s, %d modules)\n", path, k.Version, len(mods))
	}
	return path, k, err
}

func cleanupRunDir(dir string, keep bool, log io.Writer) {
	if !keep {
		os.RemoveAll(dir)
		return
	}
	imgs, _ := filepath.Glob(filepath.Join(dir, "*.img"))
	for _, img := range imgs {
		os.Remove(img)
	}
	fmt.Fprintf(log, "lab: kept %s (console.log, job/)\n", dir)
}

func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "?"
	}
	s := strings.TrimSpace(string(b))
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "?"
	}
	return s
}
