//go:build lab

package kernel

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// splitMembers starts n runc containers named prefix-<i> (Docker layout,
// outside the tenant slice: split mode) and waits until quelld has given
// each its share of every file in files. At cleanup whatever the test
// started in them is killed (cgroup.kill) before runc deletes them.
func splitMembers(t *testing.T, prefix string, n int, files ...string) []*labkit.Container {
	t.Helper()
	var cs []*labkit.Container
	for i := 0; i < n; i++ {
		c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: prefix + "-" + strconv.Itoa(i)})
		t.Cleanup(func() { _ = os.WriteFile(filepath.Join(c.CgroupDir, "cgroup.kill"), []byte("1"), 0o644) })
		cs = append(cs, c)
	}
	for _, c := range cs {
		for _, f := range files {
			if watch(15*time.Second, func() bool { return labkit.ReadFile(filepath.Join(c.CgroupDir, f)) != "max" }).IsZero() {
				t.Fatalf("%s/%s still max after 15s: quelld did not split the tenant", c.Name, f)
			}
		}
	}
	return cs
}

// readInt reads a cgroup file holding one number ("max" → -1).
func readInt(t *testing.T, path string) int64 {
	s := strings.TrimSpace(labkit.ReadFile(path))
	if s == "max" {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Errorf("%s: %q: %v", path, s, err)
	}
	return n
}

// sumSampler adds up a file over containers every 5 ms in the background
// and keeps the largest sum seen.
type sumSampler struct {
	mu   sync.Mutex
	peak int64
	stop chan struct{}
	done chan struct{}
}

func sampleSum(t *testing.T, cs []*labkit.Container, file string) *sumSampler {
	s := &sumSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			var sum int64
			for _, c := range cs {
				sum += readInt(t, filepath.Join(c.CgroupDir, file))
			}
			s.mu.Lock()
			s.peak = max(s.peak, sum)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { s.end() })
	return s
}

// end stops the sampler (once) and returns the largest sum seen.
func (s *sumSampler) end() int64 {
	select {
	case <-s.done:
	default:
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// sumOf adds up file over cs now.
func sumOf(t *testing.T, cs []*labkit.Container, file string) (sum int64, each []string) {
	for _, c := range cs {
		v := readInt(t, filepath.Join(c.CgroupDir, file))
		sum += v
		each = append(each, strconv.FormatInt(v, 10))
	}
	return sum, each
}

// TestQuelldSplitPidsTotalHolds: a tenant with limits.pids = 40 over two
// containers in split mode, each forking until the kernel refuses: the
// tenant never has more than 40 tasks (it reached 124 when each member got
// 1 MiB of "headroom" as pids.max), and the members' pids.max add up to 40.
func TestQuelldSplitPidsTotalHolds(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, "[[tenant]]\nname = \"pt\"\n  [tenant.match]\n  names = [\"pt-*\"]\n  [tenant.limits]\n  pids = 40\n")
	cs := splitMembers(t, "pt", 2, "pids.max")
	s := sampleSum(t, cs, "pids.current")
	var forks []*labkit.Child
	for _, c := range cs {
		ch, err := labkit.StartChild(os.Args[0], c.CgroupDir, "forkloop", "300", false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // its forks keep its stdout open: kill them all first
			_ = os.WriteFile(filepath.Join(c.CgroupDir, "cgroup.kill"), []byte("1"), 0o644)
			ch.Kill()
			_ = ch.Wait()
		})
		forks = append(forks, ch)
	}
	var done []string
	for i, ch := range forks {
		l, err := ch.Line(60 * time.Second)
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		done = append(done, l)
	}
	time.Sleep(3 * time.Second) // a few passes of the split after both were refused
	peak := s.end()
	limits, each := sumOf(t, cs, "pids.max")
	now, nowEach := sumOf(t, cs, "pids.current")
	t.Logf("FIGURE split-pids tenant=40 forkers=%q peak-sum-pids.current=%d now=%d %v pids.max=%v sum=%d", done, peak, now, nowEach, each, limits)
	if peak > 40 {
		t.Errorf("the tenant's two members held %d tasks together, over its pids = 40", peak)
	}
	if limits > 40 {
		t.Errorf("the members' pids.max %v add up to %d, over the tenant's 40", each, limits)
	}
	if peak < 30 {
		t.Errorf("the members reached only %d of the tenant's 40 tasks together: the split starves them", peak)
	}
	if t.Failed() {
		logEvents(t, q)
	}
}

// TestQuelldSplitMemoryAndSwapTotalsHold: a tenant with memory = 48MiB and
// swap = 32MiB over two containers in split mode, each allocating 200 MiB
// until the kernel stops it (swap, then the OOM killer): the members'
// memory.current never add up to more than 48 MiB plus the split's slack
// (1 MiB a member), nor their memory.swap.current to more than 32 MiB plus
// its slack. (Each member used to get all of the tenant's headroom, so two
// growing at once held twice the tenant's memory.)
func TestQuelldSplitMemoryAndSwapTotalsHold(t *testing.T) {
	labkit.Require(t)
	if lines := strings.Split(strings.TrimSpace(labkit.ReadFile("/proc/swaps")), "\n"); len(lines) < 2 {
		t.Fatalf("no swap in the lab (/proc/swaps: %q): the swap total cannot be shown", lines)
	}
	const mi = 1 << 20
	q := startQuelld(t, "[[tenant]]\nname = \"mt\"\n  [tenant.match]\n  names = [\"mt-*\"]\n  [tenant.limits]\n  memory = \"48MiB\"\n  swap = \"32MiB\"\n")
	cs := splitMembers(t, "mt", 2, "memory.max", "memory.swap.max")
	mem, swp := sampleSum(t, cs, "memory.current"), sampleSum(t, cs, "memory.swap.current")
	var hogs []*labkit.Child
	for _, c := range cs {
		ch, err := labkit.StartChild(os.Args[0], c.CgroupDir, "alloc", "200", false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ch.Kill(); _ = ch.Wait() })
		hogs = append(hogs, ch)
	}
	for i, ch := range hogs {
		select {
		case <-ch.Done():
		case <-time.After(120 * time.Second):
			t.Errorf("member %d still allocating after 120s (memory.current %s, swap %s)", i,
				labkit.ReadFile(filepath.Join(cs[i].CgroupDir, "memory.current")), labkit.ReadFile(filepath.Join(cs[i].CgroupDir, "memory.swap.current")))
		}
	}
	peakMem, peakSwap := mem.end(), swp.end()
	_, maxes := sumOf(t, cs, "memory.max")
	_, swapMaxes := sumOf(t, cs, "memory.swap.max")
	var ooms []int
	for _, c := range cs {
		ooms = append(ooms, int(memEvent(c.CgroupDir, "oom_kill")))
	}
	t.Logf("FIGURE split-memory tenant=48MiB/32MiB-swap peak-sum memory.current=%.2fMiB memory.swap.current=%.2fMiB memory.max=%v swap.max=%v oom_kill=%v",
		float64(peakMem)/mi, float64(peakSwap)/mi, maxes, swapMaxes, ooms)
	if peakMem > 48*mi+2*mi {
		t.Errorf("the members held %.2f MiB together, over the tenant's 48 MiB plus 2 MiB of slack", float64(peakMem)/mi)
	}
	if peakSwap > 32*mi+2*mi {
		t.Errorf("the members held %.2f MiB of swap together, over the tenant's 32 MiB plus 2 MiB of slack", float64(peakSwap)/mi)
	}
	if peakSwap == 0 {
		t.Errorf("no member swapped: the swap total was not exercised")
	}
	if t.Failed() {
		logEvents(t, q)
	}
}
