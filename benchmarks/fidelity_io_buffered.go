package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// bufferedMemMax is the writer cgroup's memory.max in the buffered io.max
// case: its dirty-page share (vm.dirty_ratio of what the cgroup may use) is
// then a few MiB, so write() itself is held back by balance_dirty_pages
// at the rate writeback drains, as in a container with a memory limit,
// instead of the whole file sitting in a guest-sized page cache until
// fsync.
const bufferedMemMax = 64 << 20

// ioBufferedCase: io.max wbps on the disk and a writer doing ordinary
// buffered write()s (no O_DIRECT) of more than its cgroup's dirty limit,
// then fsync. The kernel's cgroup writeback charges the flusher's writes
// to the writer's cgroup; achieved = io.stat wbytes delta / the time from
// the first write() to fsync's return. Runs on the ext4 and the XFS disk.
func ioBufferedCase(smoke bool) Case {
	return Case{Section: Fidelity, Name: "io.max buffered wbps", Est: 30 * time.Second, Smoke: smoke,
		Needs: func(e Env) string {
			if (e.Ext4 == "" || e.Ext4Dev == "") && (e.XFS == "" || e.XFSDev == "") {
				return "no scratch ext4 or XFS disk with its device (QUELL_LAB_EXT4[_DEV], QUELL_LAB_XFS[_DEV])"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			var rs []Result
			for _, d := range [][3]string{{"ext4", env.Ext4, env.Ext4Dev}, {"xfs", env.XFS, env.XFSDev}} {
				if d[1] == "" || d[2] == "" {
					continue
				}
				r, err := ioBuffered(env, d[0], d[1], d[2], smoke)
				if err != nil {
					return rs, fmt.Errorf("%s: %w", d[0], err)
				}
				rs = append(rs, r...)
			}
			return rs, nil
		}}
}

func ioBuffered(env Env, fs, mnt, dev string, smoke bool) ([]Result, error) {
	ma, mi, err := wholeDiskOf(dev)
	if err != nil {
		return nil, err
	}
	c, err := newCgroup(env, "bench.slice/io-buffered-"+fs)
	if err != nil {
		return nil, err
	}
	defer c.remove()
	path := filepath.Join(mnt, "bench-io-buffered")
	defer os.Remove(path)
	const set = 4 << 20
	mib := pick(smoke, 16, 40)
	if err := c.apply(limits.Resources{MemoryMax: i64(bufferedMemMax), IOMax: []limits.IOMax{{Major: ma, Minor: mi, WBPS: set}}}); err != nil {
		return nil, err
	}
	before, err := c.ioDev(ma, mi)
	if err != nil {
		return nil, err
	}
	p, err := labkit.StartChild(env.Self, c.dir, "bufw", fmt.Sprintf("%s %d", path, mib), false)
	if err != nil {
		return nil, err
	}
	// io.stat every 250 ms while it runs: when writeback starts and how
	// fast it goes once it does.
	var samples []ioSample
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var l string
	for l == "" {
		select {
		case line, ok := <-p.Lines:
			if !ok {
				return nil, fmt.Errorf("bufw exited without output: %v", p.Wait())
			}
			l = line
		case <-tick.C:
		case <-time.After(3 * time.Minute):
			return nil, fmt.Errorf("bufw said nothing in 3 minutes")
		}
		d, err := c.ioDev(ma, mi)
		if err != nil {
			return nil, err
		}
		samples = append(samples, ioSample{time.Now(), float64(d.WBytes - before.WBytes)})
	}
	after, err := c.ioDev(ma, mi)
	if err != nil {
		return nil, err
	}
	n, writeSecs, secs, err := parseBufw(l)
	if err != nil {
		return nil, err
	}
	steady, peak := writebackRates(samples, 2*time.Second)
	moved := float64(after.WBytes - before.WBytes)
	return crossChecked(env, []Result{Result{Control: "io.max buffered", Case: "io.max wbps buffered " + fs, Set: set >> 20,
		Achieved: round(moved/secs/(1<<20), 3), Unit: "MiB/s",
		Extra: map[string]float64{"written_mib": float64(n >> 20), "charged_mib": round(moved/(1<<20), 2),
			"write_calls_s": round(writeSecs, 2), "until_fsync_s": round(secs, 2), "steady_mib_s": round(steady/(1<<20), 3), "peak_2s_mib_s": round(peak/(1<<20), 3)},
		Method: fmt.Sprintf("%d MiB of buffered 1 MiB write()s then fsync on %s %s (%d:%d), memory.max %d MiB (dirty limit a few MiB); io.stat wbytes delta / first write() to fsync's return (io.stat every 250 ms: steady_mib_s from the first MiB charged to the end, peak_2s_mib_s the fastest 2 s)",
			mib, fs, dev, ma, mi, bufferedMemMax>>20)}.WithError()}, c)
}

// parseBufw reads the bufw helper's line "bytes write_ns total_ns".
func parseBufw(l string) (bytes int64, writeSecs, secs float64, err error) {
	f := strings.Fields(l)
	if len(f) != 3 {
		return 0, 0, 0, fmt.Errorf("bufw said %q, want \"bytes write_ns total_ns\"", l)
	}
	var ns [2]int64
	bytes, err = strconv.ParseInt(f[0], 10, 64)
	for i := range ns {
		if err == nil {
			ns[i], err = strconv.ParseInt(f[i+1], 10, 64)
		}
	}
	if err != nil || bytes <= 0 || ns[0] <= 0 || ns[1] < ns[0] {
		return 0, 0, 0, fmt.Errorf("bufw said %q, want \"bytes write_ns total_ns\" with 0 < write_ns <= total_ns", l)
	}
	return bytes, float64(ns[0]) / 1e9, float64(ns[1]) / 1e9, nil
}

// ioSample is bytes charged so far at a time.
type ioSample struct {
	at    time.Time
	bytes float64
}

// writebackRates returns the rate from the first sample with at least
// 1 MiB charged (writeback under way) to the last, and the fastest rate
// over any span of at least win between two samples (0 when the samples
// span less).
func writebackRates(s []ioSample, win time.Duration) (steady, peak float64) {
	start := -1
	for i, x := range s {
		if x.bytes >= 1<<20 {
			start = i
			break
		}
	}
	if start >= 0 && start < len(s)-1 {
		last := s[len(s)-1]
		steady = (last.bytes - s[start].bytes) / last.at.Sub(s[start].at).Seconds()
	}
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if d := s[j].at.Sub(s[i].at); d >= win {
				peak = max(peak, (s[j].bytes-s[i].bytes)/d.Seconds())
				break
			}
		}
	}
	return steady, peak
}
