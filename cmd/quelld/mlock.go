package main

import (
	"log/slog"

	"golang.org/x/sys/unix"
)

// lockMemory keeps quelld's pages in RAM (mlockall), so that on a host
// thrashing in swap — the moment a memory rule must act — quelld is not
// itself waiting on swap-in for every page it touches. (In the lab a pass
// of an unlocked quelld took 8 s under a swapping hog.) MCL_ONFAULT locks
// pages as they are touched rather than populating every mapping: the Go
// runtime reserves far more address space than it uses. The cost is that
// the heap no longer shrinks (madvise cannot free locked pages); the unit
// protects the rest with MemoryMin. Failure is logged, not fatal: quelld
// still works, only slower under swap.
func lockMemory(log *slog.Logger) {
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		log.Warn("cannot lock quelld's memory; it may be swapped out and react slowly when the host is short of memory (set lock_memory = false to silence)", "err", err)
	}
}
