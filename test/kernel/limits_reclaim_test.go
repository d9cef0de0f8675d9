//go:build lab

package kernel

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// TestLimitsLoweringMemoryHighReturnsWhileTheKernelReclaims: a 400 MiB
// hog, memory.high lowered to 64 MiB. The kernel reclaims inside the
// write(2) for seconds (swap under emulation); Apply returns within its
// wait with the limit in force and Reclaiming set, the hog's usage falls
// meanwhile, and lifting memory.high stops the kernel's reclaim loop (its
// write returns long before usage reaches 64 MiB).
func TestLimitsLoweringMemoryHighReturnsWhileTheKernelReclaims(t *testing.T) {
	labkit.Require(t)
	c := newTestCgroup(t, "reclaim")
	hog := startChild(t, c.dir, "memhog", "QUELL_KTEST_HOG_MIB=400")
	current := func() int64 {
		v, _ := strconv.ParseInt(strings.TrimSpace(labkit.ReadFile(filepath.Join(c.dir, "memory.current"))), 10, 64)
		return v
	}
	if watch(60*time.Second, func() bool { return strings.Contains(hog.out.String(), "done") }).IsZero() {
		t.Fatalf("hog did not allocate 400 MiB: %s", labkit.Tail(hog.out.String(), 3))
	}
	before := current()
	start := time.Now()
	res, err := c.fs.Apply(context.Background(), c.name, []limits.Write{{File: "memory.high", Value: strconv.Itoa(64 << 20)}})
	took := time.Since(start)
	if err != nil || len(res) != 1 || !res[0].Changed {
		t.Fatalf("Apply memory.high: %+v, %v", res, err)
	}
	t.Logf("FIGURE reclaim memory.high 400MiB→64MiB: Apply returned after %v, reclaiming=%v, memory.high reads %s",
		took.Round(time.Millisecond), res[0].Reclaiming, labkit.ReadFile(filepath.Join(c.dir, "memory.high")))
	if !res[0].Reclaiming {
		t.Fatalf("the kernel reclaimed 336 MiB within the wait (%v): this host is too fast for the test to see a background reclaim; give the hog more memory", took)
	}
	if took > time.Second {
		t.Errorf("Apply took %v; want the reclaim wait (100 ms) plus the read-back", took)
	}
	time.Sleep(time.Second)
	mid := current()
	t.Logf("FIGURE reclaim memory.current %.0f MiB before, %.0f MiB 1 s into the background reclaim; still reclaiming: %v",
		float64(before)/(1<<20), float64(mid)/(1<<20), c.fs.Reclaiming())
	if mid >= before {
		t.Errorf("memory.current %d → %d: the background reclaim did not bite", before, mid)
	}
	if len(c.fs.Reclaiming()) == 0 {
		t.Fatalf("the reclaim ended within 1 s (usage %d): nothing left to interrupt; give the hog more memory", mid)
	}

	start = time.Now()
	if _, err := c.fs.Apply(context.Background(), c.name, []limits.Write{{File: "memory.high", Value: "max"}}); err != nil {
		t.Fatalf("lift memory.high: %v", err)
	}
	liftTook := time.Since(start)
	stopped := watch(5*time.Second, func() bool { return len(c.fs.Reclaiming()) == 0 })
	at := current()
	t.Logf("FIGURE reclaim lifted: Apply returned after %v; the kernel's reclaim loop ended %v after the lift (memory.current then %.0f MiB, target was 64)",
		liftTook.Round(time.Millisecond), sinceOrNA(start, stopped), float64(at)/(1<<20))
	if liftTook > time.Second {
		t.Errorf("lifting memory.high took %v: it must not wait for the earlier write's reclaim to stop", liftTook)
	}
	if stopped.IsZero() {
		t.Fatalf("the earlier write is still reclaiming 5 s after memory.high was lifted: %v", c.fs.Reclaiming())
	}
	if at <= 64<<20 {
		t.Errorf("usage reached the 64 MiB target (%d): the loop may have ended on its own rather than by the signal", at)
	}
	if hog.exited() {
		t.Errorf("the hog died: %v", hog.err)
	}
}
