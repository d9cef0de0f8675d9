package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-dev/quell/limits"
	"golang.org/x/sys/unix"
)

// scenario is what one protection case contends for: the victim's
// request, the antagonists, the static limit compared with quell's rule,
// and the file quelld's throttle changes (how the case sees it acted).
type scenario struct {
	victimArg    string // victim child mode's argument
	victimDesc   string // what one request does, for the Method
	antMode      string // antagonist child mode
	antArg       string
	antN         int
	antDesc      string
	antSetup     limits.Resources // applied before the antagonists start
	static, lift limits.Resources
	staticDesc   string
	file         string // what quelld's throttle writes in the antagonist
	// interleave: alternate each scenario with windows where the
	// antagonists are stopped (SIGSTOP). Not for memory: a stopped hog
	// still holds its memory, so those windows would not be "alone".
	interleave bool
	settle     bool // give the victim 3 s after a change before measuring
	// gap after stopping or resuming the antagonists before a window
	// starts (io: the requests they have queued must drain first)
	gap time.Duration
	// ready, when set, is waited for (up to 2 minutes) after the
	// antagonists start: e.g. a memory hog has filled what it churns.
	ready   func(a *cgroup) bool
	cleanup func()
}

// cpuScenario: 3 busy loops over-commit the 2 vCPUs from a cgroup with
// cpu.weight 10000 (as a container with a large CPU request or
// --cpu-shares gets): at equal weights the scheduler alone shields a
// victim that needs 5% of a CPU, and there would be nothing to measure.
func cpuScenario() (scenario, error) {
	return scenario{victimArg: "cpu", victimDesc: "fixed CPU work",
		antMode: "busy", antN: 3, antDesc: "3 busy loops at cpu.weight 10000",
		antSetup: limits.Resources{CPUWeight: u64(10000)},
		// Like for like: quell's throttle writes cpu.weight 1 beside
		// cpu.max (enforcer/throttle.go), so the static limit does too.
		static: limits.Resources{CPUQuota: i64(50000), CPUWeight: u64(1)}, lift: limits.Resources{CPUQuota: i64(limits.Max), CPUWeight: u64(10000)},
		staticDesc: "antagonist cpu.max 0.5 CPU and cpu.weight 1 (as quell's throttle writes)", file: "cpu.max", interleave: true}, nil
}

// ioScenario: 4 O_DIRECT 1 MiB writers against a victim's 4 KiB O_DIRECT
// reads, on the slow disk when there is one (the lab's: /mnt/slow, which
// qemu throttles; a page-cache-backed virtual disk never queues the reads
// behind the writes).
func ioScenario(env Env, victimDir string) (scenario, error) {
	dir, dev, which := env.Slow, env.SlowDev, "the slow disk "+env.Slow
	if dir == "" {
		dir, dev, which = env.Ext4, env.Ext4Dev, "the scratch disk "+env.Ext4
	}
	rfile := filepath.Join(dir, "bench-victim")
	wfile := filepath.Join(dir, "bench-antagonist")
	s := scenario{cleanup: func() { os.Remove(rfile); os.Remove(wfile) }}
	if err := runHelper(env, victimDir, "dio", fmt.Sprintf("w %d %s 16", 1<<20, rfile)); err != nil {
		return s, err
	}
	ma, mi, err := limits.DeviceNumber(dev)
	if err == nil {
		ma, mi, err = limits.WholeDisk("/sys", ma, mi)
	}
	if err != nil {
		return s, err
	}
	s.victimArg, s.victimDesc = "io "+rfile, "fixed CPU work + one 4 KiB O_DIRECT read, on "+which
	s.antMode, s.antArg, s.antN, s.antDesc = "dioloop", wfile, 4, "4 O_DIRECT 1 MiB writers on "+which
	s.static = limits.Resources{IOMax: []limits.IOMax{{Major: ma, Minor: mi, WBPS: 2 << 20}}}
	s.lift = limits.Resources{IOMax: []limits.IOMax{{Major: ma, Minor: mi}}}
	s.staticDesc, s.file, s.interleave, s.gap = "antagonist io.max wbps 2 MiB/s", "io.max", true, time.Second
	return s, nil
}

// memoryScenario: the victim keeps a working set of 1/6 of RAM and
// touches 256 random pages of it per request; the antagonist churns
// through as much memory as the host has, so the kernel must swap, and
// whatever of the victim's set it takes comes back as major faults.
func memoryScenario(env Env) (scenario, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return scenario{}, err
	}
	ram := int64(si.Totalram) * int64(si.Unit) >> 20
	ws := ram / 6
	return scenario{victimArg: fmt.Sprintf("mem %d", ws),
		victimDesc: fmt.Sprintf("fixed CPU work + touching 256 random pages of a %d MiB working set", ws),
		antMode:    "churn", antArg: fmt.Sprint(ram), antN: 1,
		antDesc: fmt.Sprintf("one process churning through %d MiB (all of RAM; swap takes the rest)", ram),
		// memory.high, not memory.max: the hog does not fit in a third of
		// RAM plus the swap, and memory.max would OOM-kill it.
		static: limits.Resources{MemoryHigh: i64(ram / 3 << 20)}, lift: limits.Resources{MemoryHigh: i64(limits.Max)},
		staticDesc: fmt.Sprintf("antagonist memory.high %d MiB (a third of RAM)", ram/3),
		file:       "memory.high", settle: true,
		ready: func(a *cgroup) bool {
			st, _ := a.stats()
			if st.MemoryCurrent == nil || st.SwapCurrent == nil {
				return false
			}
			return int64(*st.MemoryCurrent+*st.SwapCurrent)>>20 >= ram*8/10
		}}, nil
}
