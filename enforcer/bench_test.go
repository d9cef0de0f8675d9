package enforcer

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTick measures one full loop pass (discover is amortised by the
// resync interval; this includes observe, desire, reconcile with nothing to
// change, detect and publish) over n idle containers in a fake cgroup
// tree, once the loop has settled (the passes that first find and read
// them are not timed).
func BenchmarkTick(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			t := &testing.T{}
			h := &fakeHost{t: t, root: b.TempDir()}
			h.cg, h.run, h.pol, h.stateD = h.root+"/cgroup", h.root+"/run", h.root+"/policy.d", h.root+"/state"
			h.file("cgroup/cgroup.subtree_control", "cpu io memory pids cpuset\n")
			h.file("policy.d/10.toml", acmePolicy+noisyPolicy)
			for i := 0; i < n; i++ {
				id := fmt.Sprintf("%064x", i+1)
				name := "acme-" + fmt.Sprint(i)
				if i%2 == 1 {
					name = "batch-" + fmt.Sprint(i)
				}
				benchFiles(h, h.container(id, name, 0))
			}
			clock := newClock()
			heap0 := liveHeap()
			e := h.enforcerFS(clock)
			ctx := context.Background()
			// Idle: the first passes find the containers (and read them in
			// full until their counters are known to be still).
			for range fullEvery + 1 {
				clock.Add(time.Second)
				e.Tick(ctx)
			}
			// What the loop keeps per container between passes (its state,
			// plans, memos, the published view): RSS at 10,000 follows it.
			heap := float64(liveHeap()-heap0) / float64(n)
			if f := os.Getenv("QUELL_BENCH_HEAPPROFILE"); f != "" {
				writeHeapProfile(b, f)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				clock.Add(time.Second)
				e.Tick(ctx)
			}
			cpu := processCPU() - cpu0
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/container")
			// CPU time (user+system, all threads: GC included) per container:
			// on a shared host the wall time above also counts the time the
			// process waited for a CPU.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/float64(n), "cpu-µs/container")
			b.ReportMetric(heap, "heap-B/container")
			runtime.KeepAlive(e)
			e.obs.closeAll() // the fake tree's cleanup needs descriptors
		})
	}
}

// benchFiles adds the files a real container cgroup has beyond the ones
// fakeHost.container makes (an io.stat with a device it once used and the
// pressure files), so that a full read costs what it costs on a host.
func benchFiles(h *fakeHost, cg string) {
	h.file("cgroup/"+cg+"/io.stat", "254:0 rbytes=1609728 wbytes=4096 rios=95 wios=1 dbytes=0 dios=0\n")
	for _, r := range []string{"cpu", "memory", "io"} {
		h.file("cgroup/"+cg+"/"+r+".pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=567\n")
	}
}

// liveHeap is the bytes the heap holds after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// processCPU is the CPU time the process used so far (user+system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSizes is the container counts BenchmarkTick runs: 100 and 1,000,
// and 10,000 with QUELL_BENCH_10K=1 (a minute to build its fake tree).
func benchSizes() []int {
	if os.Getenv("QUELL_BENCH_10K") != "" {
		return []int{100, 1000, 10000}
	}
	return []int{100, 1000}
}

func writeHeapProfile(b *testing.B, file string) {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFirstPass measures quelld's first pass over n containers it
// has never seen (the full resync after a start): discovery, runtime
// metadata, the first full read and every limit written, on a fake tree
// with runtime state. Each iteration starts from the kernel's defaults
// and an empty state dir.
func BenchmarkFirstPass(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) {
			t := &testing.T{}
			h := &fakeHost{t: t, root: b.TempDir()}
			h.cg, h.run, h.pol = h.root+"/cgroup", h.root+"/run", h.root+"/policy.d"
			h.file("cgroup/cgroup.subtree_control", "cpu io memory pids cpuset\n")
			h.file("policy.d/10.toml", acmePolicy+noisyPolicy)
			var cgs []string
			for i := 0; i < n; i++ {
				id := fmt.Sprintf("%064x", i+1)
				cg := h.container(id, "acme-"+fmt.Sprint(i), 0)
				benchFiles(h, cg)
				cgs = append(cgs, cg)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for _, cg := range cgs {
					for _, f := range []string{"cpu.max", "memory.max", "memory.high", "memory.swap.max", "pids.max"} {
						v := "max\n"
						if f == "cpu.max" {
							v = "max 100000\n"
						}
						h.file("cgroup/"+cg+"/"+f, v)
					}
				}
				h.stateD = b.TempDir()
				e := h.enforcerFS(newClock())
				b.StartTimer()
				e.Tick(ctx)
				b.StopTimer()
				if got := h.read("cgroup/" + cgs[n-1] + "/memory.max"); got == "max" {
					b.Fatalf("the first pass wrote no memory.max on %s", cgs[n-1])
				}
				e.obs.closeAll()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/container")
		})
	}
}
