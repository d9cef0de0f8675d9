//go:build pprof

// A profiling build (go build -tags pprof): with QUELLD_CPUPROFILE=FILE
// quelld writes a CPU profile of the QUELLD_CPUPROFILE_AFTER (default
// 30s) to QUELLD_CPUPROFILE_FOR (default 20s) span of its run to FILE, and a heap profile
// then to FILE.heap. A release build has none of this.

package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

func init() {
	path := os.Getenv("QUELLD_CPUPROFILE")
	if path == "" {
		return
	}
	dur := func(k string, d time.Duration) time.Duration {
		if v, err := time.ParseDuration(os.Getenv(k)); err == nil {
			return v
		}
		return d
	}
	after, span := dur("QUELLD_CPUPROFILE_AFTER", 30*time.Second), dur("QUELLD_CPUPROFILE_FOR", 20*time.Second)
	time.AfterFunc(after, func() {
		f, err := os.Create(path + ".tmp")
		if err != nil || pprof.StartCPUProfile(f) != nil {
			return
		}
		time.Sleep(span)
		pprof.StopCPUProfile()
		f.Close()
		if h, err := os.Create(path + ".heap"); err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(h)
			h.Close()
		}
		os.Rename(path+".tmp", path)
	})
}
