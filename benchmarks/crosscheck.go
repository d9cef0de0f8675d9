package benchmarks

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/quell-dev/quell/limits"
)

// A second, independent reader: containerd/cgroups' cgroup2 Manager.Stat
// reads the same cgroup between two reads with quell's own parsers
// (limits.FS.Stats); every figure both read must agree. A counter must lie
// between quell's two reads, a gauge (memory.current, pids.current) within
// their range; both with crossTol of slack. cgroup2 turns a failed read into
// 0 (LIBRARY-NOTES), which then disagrees: loud, not silent.
const crossTol = 0.02

// memcgBatch is how far memory.current may move between two reads with
// nothing allocated: the kernel charges a cgroup's pages through per-CPU
// stocks of MEMCG_CHARGE_BATCH (64) pages, so the page counter moves a
// batch at a time; one full run saw quell read 2,871,296 twice and cgroup2
// 2,609,152 between, one batch (262,144 B) apart, 9% of a small cgroup.
func memcgBatch() uint64 { return 64 * uint64(os.Getpagesize()) * uint64(runtime.NumCPU()) }

// crossFigure is one figure as quell read it twice and cgroup2 once.
type crossFigure struct {
	name           string
	ours1, ours2   uint64
	theirs         uint64
	counter, found bool
	slack          uint64 // absolute, besides crossTol
}

// crossCheck reads rel (below env.CgroupRoot) both ways and returns how
// many figures agreed, or an error naming those that did not.
func crossCheck(env Env, rel string) (int, error) {
	fs := limits.NewFS(env.CgroupRoot)
	a, err := fs.Stats(rel)
	if err != nil {
		return 0, fmt.Errorf("cross-check: quell's read: %w", err)
	}
	m, err := cgroup2.Load("/"+strings.TrimPrefix(rel, "/"), cgroup2.WithMountpoint(env.CgroupRoot))
	if err != nil {
		return 0, fmt.Errorf("cross-check: cgroup2.Load: %w", err)
	}
	st, err := m.Stat()
	if err != nil {
		return 0, fmt.Errorf("cross-check: cgroup2 Stat: %w", err)
	}
	b, err := fs.Stats(rel)
	if err != nil {
		return 0, fmt.Errorf("cross-check: quell's read: %w", err)
	}
	return judgeCross(crossFigures(a, b, st))
}

func crossFigures(a, b limits.Stats, st *stats.Metrics) []crossFigure {
	var fs []crossFigure
	add := func(name string, counter bool, x, y *uint64, theirs uint64, ok bool) {
		if x == nil || y == nil || !ok {
			return
		}
		fs = append(fs, crossFigure{name: name, ours1: *x, ours2: *y, theirs: theirs, counter: counter, found: true})
	}
	if a.CPU != nil && b.CPU != nil && st.CPU != nil {
		add("cpu.stat usage_usec", true, &a.CPU.UsageUsec, &b.CPU.UsageUsec, st.CPU.UsageUsec, true)
		add("cpu.stat user_usec", true, &a.CPU.UserUsec, &b.CPU.UserUsec, st.CPU.UserUsec, true)
		add("cpu.stat system_usec", true, &a.CPU.SystemUsec, &b.CPU.SystemUsec, st.CPU.SystemUsec, true)
		if a.CPU.Throttling && b.CPU.Throttling {
			add("cpu.stat nr_throttled", true, &a.CPU.NrThrottled, &b.CPU.NrThrottled, st.CPU.NrThrottled, true)
			add("cpu.stat throttled_usec", true, &a.CPU.ThrottledUsec, &b.CPU.ThrottledUsec, st.CPU.ThrottledUsec, true)
		}
	}
	if st.Memory != nil {
		add("memory.current", false, a.MemoryCurrent, b.MemoryCurrent, st.Memory.Usage, true)
		if n := len(fs); n > 0 && fs[n-1].name == "memory.current" {
			fs[n-1].slack = memcgBatch()
		}
		add("memory.peak", true, a.MemoryPeak, b.MemoryPeak, st.Memory.MaxUsage, true)
		add("memory.swap.current", false, a.SwapCurrent, b.SwapCurrent, st.Memory.SwapUsage, true)
	}
	if st.Pids != nil {
		add("pids.current", false, a.PidsCurrent, b.PidsCurrent, st.Pids.Current, true)
	}
	if a.IO != nil && b.IO != nil && st.Io != nil {
		for _, d := range a.IO.Devices {
			e, ok := b.IO.Device(d.Major, d.Minor)
			if !ok {
				continue
			}
			var t *stats.IOEntry
			for _, x := range st.Io.Usage {
				if x.Major == uint64(d.Major) && x.Minor == uint64(d.Minor) {
					t = x
				}
			}
			dev := fmt.Sprintf("io.stat %d:%d ", d.Major, d.Minor)
			if t == nil {
				fs = append(fs, crossFigure{name: dev + "(missing in cgroup2's read)", ours1: d.RBytes + d.WBytes, ours2: e.RBytes + e.WBytes, counter: true})
				continue
			}
			add(dev+"rbytes", true, &d.RBytes, &e.RBytes, t.Rbytes, true)
			add(dev+"wbytes", true, &d.WBytes, &e.WBytes, t.Wbytes, true)
			add(dev+"rios", true, &d.RIOs, &e.RIOs, t.Rios, true)
			add(dev+"wios", true, &d.WIOs, &e.WIOs, t.Wios, true)
		}
	}
	return fs
}

func judgeCross(fs []crossFigure) (int, error) {
	var bad []string
	for _, f := range fs {
		lo, hi := f.ours1, f.ours2
		if lo > hi {
			lo, hi = hi, lo
		}
		if f.counter && f.ours2 < f.ours1 && f.found {
			bad = append(bad, fmt.Sprintf("%s went backwards in quell's reads (%d then %d)", f.name, f.ours1, f.ours2))
			continue
		}
		if !f.found || float64(f.theirs)+float64(f.slack) < float64(lo)*(1-crossTol) || float64(f.theirs) > float64(hi)*(1+crossTol)+1+float64(f.slack) {
			bad = append(bad, fmt.Sprintf("%s: quell read %d..%d, cgroup2 %d", f.name, f.ours1, f.ours2, f.theirs))
		}
	}
	if len(fs) == 0 {
		return 0, fmt.Errorf("cross-check: no figure read by both quell and cgroup2")
	}
	if len(bad) > 0 {
		return len(fs) - len(bad), fmt.Errorf("cross-check with containerd/cgroups cgroup2 failed: %s", strings.Join(bad, "; "))
	}
	return len(fs), nil
}

// crossChecked cross-checks each cgroup the case measured (crossCheck)
// and notes how many figures agreed in each result's Extra; a
// disagreement fails the case.
func crossChecked(env Env, rs []Result, cgs ...*cgroup) ([]Result, error) {
	n := 0
	for _, c := range cgs {
		k, err := crossCheck(env, c.rel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.rel, err)
		}
		n += k
	}
	for i := range rs {
		if rs[i].Extra == nil {
			rs[i].Extra = map[string]float64{}
		}
		rs[i].Extra["crosscheck_figures"] = float64(n)
		rs[i].Method += "; cross-checked with containerd/cgroups cgroup2 (figures agreeing: crosscheck_figures)"
	}
	return rs, nil
}
