//go:build lab

package kernel

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

const ioStormPolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["system.slice/docker-bad2*.scope"]

[[rule]]
name = "io-storm"
when = { signal = "host.io.some.avg10", above = 20.0, for = "1s" }
release = 5.0
target = { classes = ["best-effort", "burstable"], rank = "io" }
ladder = [{ action = "throttle", factor = 0.25, for = "60s" }]
cooldown = "30s"
`

// TestQuelldThrottlesIOStorm: a best-effort cgroup writes to the lab's XFS
// scratch disk with O_DIRECT as fast as it can; host io pressure rises; the
// rule ranking by io throttles it with io.max on that disk at ¼ of the
// rate it was writing, and the kernel holds it there (io.stat).
func TestQuelldThrottlesIOStorm(t *testing.T) {
	labkit.Require(t)
	// A rule on host pressure must start from a quiet host: what earlier
	// tests left running would otherwise be blamed on this one's containers.
	waitQuiet(t, 40*time.Second)
	mnt := os.Getenv("QUELL_LAB_XFS")
	if mnt == "" {
		t.Fatal("QUELL_LAB_XFS not set: no scratch disk")
	}
	q := startQuelld(t, ioStormPolicy)
	dir := labkit.NewCgroup(t, "system.slice/docker-"+labkit.HexID("bad2")+".scope")
	id := idOfCgroup(dir)
	file := filepath.Join(mnt, "storm-"+id[:8])
	t.Cleanup(func() { _ = os.Remove(file) })
	time.Sleep(2 * time.Second)
	psi := watchPSI(t, "io", 20)
	onset := time.Now()
	storm := startChild(t, dir, "iostorm", "QUELL_KTEST_IO_FILE="+file)

	var line string
	throttled := watch(40*time.Second, func() bool {
		line = labkit.ReadFile(filepath.Join(dir, "io.max"))
		return line != "" || storm.exited()
	})
	if throttled.IsZero() || storm.exited() {
		logEvents(t, q)
		t.Fatalf("io storm not throttled within 40s (exited %v: %s)", storm.exited(), labkit.Tail(storm.out.String(), 3))
	}
	evs := q.events()
	thr, ok := firstEvent(evs, id, "throttle")
	if !ok {
		t.Fatalf("io.max set (%q) but no throttle event on %s", line, id)
	}
	wbps := ioMaxField(line, "wbps")
	before := thr.Signals["use"]
	time.Sleep(time.Second) // the writes in flight at the throttle complete
	w0 := ioWritten(dir)
	start := time.Now()
	time.Sleep(4 * time.Second)
	got := float64(ioWritten(dir)-w0) / time.Since(start).Seconds()
	t.Logf("FIGURE e2e io-storm reaction storm-start→throttle %v, psi(avg10>20)→throttle %v; event: %s; after: %s",
		throttled.Sub(onset).Round(time.Millisecond), sinceOrNA(psi.time(), throttled), thr.Reason, thr.After)
	t.Logf("FIGURE e2e io-storm rate before=%.1fMB/s io.max %q wbps=%.1fMB/s achieved=%.2fMB/s ratio(achieved/set)=%.3f",
		before/1e6, line, float64(wbps)/1e6, got/1e6, got/float64(wbps))
	if wbps <= 0 || float64(wbps) > before*0.25*1.01 || float64(wbps) < before*0.25*0.5 {
		t.Errorf("io.max wbps = %d, want about ¼ of the %.0f B/s the storm did", wbps, before)
	}
	if wbps > 0 && got > float64(wbps)*1.15 {
		t.Errorf("storm writes %.0f B/s under io.max wbps=%d", got, wbps)
	}
}

// ioMaxField returns key's value in an io.max line; 0 for "max" or absent.
func ioMaxField(line, key string) int64 {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// ioWritten is the sum of wbytes over the devices in dir/io.stat.
func ioWritten(dir string) int64 {
	var n int64
	for _, f := range strings.Fields(labkit.ReadFile(filepath.Join(dir, "io.stat"))) {
		if v, ok := strings.CutPrefix(f, "wbytes="); ok {
			x, _ := strconv.ParseInt(v, 10, 64)
			n += x
		}
	}
	return n
}
