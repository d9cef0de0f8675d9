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

// startChildIn starts this test binary in a labkit child mode directly in the
// cgroup dir and waits (30 s at most) for it to print "ready" when wait is
// set. It is killed at cleanup. It returns whether it said
// ready (false: it died first, e.g. OOM-killed).
func startChildIn(t *testing.T, dir string, wait bool, mode, arg string) bool {
	t.Helper()
	ch, err := labkit.StartChild(os.Args[0], dir, mode, arg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Kill(); _ = ch.Wait() })
	if !wait {
		return false
	}
	l, err := ch.Line(30 * time.Second)
	return err == nil && l == "ready"
}

func splitMemEvent(t *testing.T, dir, key string) int {
	t.Helper()
	for _, line := range strings.Split(labkit.ReadFile(filepath.Join(dir, "memory.events")), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == key {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("%s/memory.events has no %s", dir, key)
	return 0
}

func memCurrent(dir string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(labkit.ReadFile(filepath.Join(dir, "memory.current"))), 10, 64)
	return n
}

const splitMemPolicy = `
[[tenant]]
name = "shop"
  [tenant.match]
  cgroups = ["system.slice/docker-5b0b*.scope"]
  [tenant.limits]
  memory = "256MiB"
  swap = "0"
`

// TestQuelldSplitMemoryNeverOOMsUnderTheTenantLimit: in split mode no
// container is OOM-killed while it grows within its part of the tenant's
// headroom (its use plus an equal part of what the tenant has left, which
// follows its growth interval by interval), and a container that takes the
// tenant over its limit is the one held. (Each member used to get all of
// the headroom, so members growing together passed the tenant's limit:
// see TestQuelldSplitMemoryAndSwapTotalsHold.)
func TestQuelldSplitMemoryNeverOOMsUnderTheTenantLimit(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, splitMemPolicy)
	var dirs []string
	for i := 0; i < 3; i++ {
		dirs = append(dirs, labkit.NewCgroup(t, "system.slice/docker-"+labkit.HexID("5b0b")+".scope"))
	}
	// Each member must have its share before it allocates.
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "memory.max")); err != nil {
			t.Fatal(err)
		}
	}
	startChildIn(t, dirs[0], false, "busy", "") // keeps each cgroup populated
	for _, d := range dirs[1:] {
		startChildIn(t, d, false, "busy", "")
	}
	time.Sleep(3 * time.Second)
	for _, d := range dirs {
		if got := strings.TrimSpace(labkit.ReadFile(filepath.Join(d, "memory.max"))); got == "max" {
			t.Fatalf("%s/memory.max still max: quelld did not split the tenant's memory\n%s", d, q.quell("events"))
		}
	}
	// 60 MiB then 50 MiB, each within its part of the headroom (about
	// 85 MiB each of three idle members, then the split follows).
	if ok := startChildIn(t, dirs[0], true, "alloc", "60"); !ok {
		t.Fatalf("60 MiB in the first member did not fit (oom_kill %d)", splitMemEvent(t, dirs[0], "oom_kill"))
	}
	time.Sleep(2500 * time.Millisecond) // one interval for the split to follow
	if ok := startChildIn(t, dirs[1], true, "alloc", "50"); !ok {
		t.Fatalf("50 MiB in the second member did not fit while the tenant held 60 of 256 MiB (oom_kill %d)", splitMemEvent(t, dirs[1], "oom_kill"))
	}
	time.Sleep(2500 * time.Millisecond)
	var total int64
	for i, d := range dirs[:2] {
		if n := splitMemEvent(t, d, "oom_kill"); n != 0 {
			t.Errorf("member %d was OOM-killed %d times while the tenant was under its limit", i, n)
		}
		total += memCurrent(d)
	}
	t.Logf("FIGURE e2e split-memory tenant=256MiB members=[60,50]MiB total=%.1fMiB no-oom", float64(total)/(1<<20))
	// 150 MiB more would take the tenant to ~260 MiB: that member is held.
	ok := startChildIn(t, dirs[2], true, "alloc", "150")
	time.Sleep(500 * time.Millisecond)
	total = memCurrent(dirs[0]) + memCurrent(dirs[1]) + memCurrent(dirs[2])
	t.Logf("FIGURE e2e split-memory over-limit member ready=%v oom_kill=%d tenant total=%.1fMiB (limit 256)", ok,
		splitMemEvent(t, dirs[2], "oom_kill"), float64(total)/(1<<20))
	if ok || splitMemEvent(t, dirs[2], "oom_kill") == 0 {
		t.Errorf("the member that took the tenant over 256 MiB was not held (ready=%v)", ok)
	}
	if total > 260<<20 {
		t.Errorf("tenant total %d bytes is over its 256 MiB limit", total)
	}
	for i, d := range dirs[:2] {
		if n := splitMemEvent(t, d, "oom_kill"); n != 0 {
			t.Errorf("member %d (within the tenant's budget) was OOM-killed when a sibling overreached", i)
		}
	}
}

const slicePolicy = `
[[tenant]]
name = "ci"
  [tenant.match]
  cgroups = ["quell.slice/quell-ci.slice/**"]
  [tenant.limits]
  cpus = 1.5
`

// TestQuelldTenantSliceLimitsByTheKernel: containers started under the
// tenant slice (the --cgroup-parent recipe) are limited as one group by
// the kernel itself.
func TestQuelldTenantSliceLimitsByTheKernel(t *testing.T) {
	labkit.Require(t)
	startQuelld(t, slicePolicy)
	slice := filepath.Join(labkit.Root(), "quell.slice/quell-ci.slice")
	waitFile(t, filepath.Join(slice, "cpu.max"), "150000 100000", 10*time.Second)
	var dirs []string
	for i := 0; i < 3; i++ {
		d := labkit.NewCgroup(t, "quell.slice/quell-ci.slice/docker-"+labkit.HexID("c1")+".scope")
		labkit.StartBusyLoop(t, d)
		dirs = append(dirs, d)
	}
	time.Sleep(2 * time.Second)
	total, each := cpuOver(t, 10*time.Second, dirs...)
	t.Logf("FIGURE e2e tenant-slice set=1.5 achieved=%.4f ratio=%.4f each=%.3f", total, total/1.5, each)
	if total < 1.5*0.95 || total > 1.5*1.05 {
		t.Errorf("three busy containers in the tenant slice used %.3f CPUs, want 1.5 ±5%%", total)
	}
}
