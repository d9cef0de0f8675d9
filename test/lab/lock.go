package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockHost serialises lab guests on this host through a lock file in
// cacheDir. "lab test" takes it exclusively: its fidelity ratios (cpu.max,
// io.max, tc) are meaningless while other TCG guests compete for the same
// two host cores. "lab run" takes it shared, so ad-hoc runs overlap each
// other but not a test suite. The lock is released when the process exits.
func lockHost(cacheDir string, exclusive bool, log io.Writer) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("lab lock: %w", err)
	}
	path := filepath.Join(cacheDir, "host.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("lab lock: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err == nil {
		return nil // f stays open (and locked) for the life of the process
	}
	fmt.Fprintf(log, "lab: waiting for other lab guests on this host to finish (%s)\n", path)
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return fmt.Errorf("lab lock %s: %w", path, err)
	}
	return nil
}
