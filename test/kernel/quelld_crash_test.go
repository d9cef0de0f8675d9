//go:build lab

// Crash tests of quelld: kill -9 while it applies a policy to many
// cgroups and while a throttle is in force, restart, and check that the
// state file holds every original, nothing is applied twice, removing the
// tenant brings every original back exactly, and a throttle outlives the
// crash until its deadline and is then lifted.
package kernel

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/test/labkit"
)

const crashPolicy = `
[[tenant]]
name = "crash"
  [tenant.match]
  cgroups = ["system.slice/docker-c4a5*.scope"]
  [tenant.container]
  cpus = 0.25
  cpu_weight = 30
  memory = "96MiB"
  memory_high = "80MiB"
  pids = 77
`

func readState(t *testing.T, dir string) state.Data {
	t.Helper()
	var d state.Data
	b, err := os.ReadFile(filepath.Join(dir, "state", state.FileName))
	if os.IsNotExist(err) {
		return d // killed before it changed anything
	}
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("state file: %v", err)
	}
	return d
}

func TestQuelldCrashWhileApplyingPolicy(t *testing.T) {
	labkit.Require(t)
	const n = 24
	want := map[string]string{"cpu.max": "25000 100000", "cpu.weight": "30", "memory.max": "100663296",
		"memory.high": "83886080", "pids.max": "77"}
	type cg struct {
		rel, dir string
		orig     map[string]string
	}
	var cgs []cg
	for i := 0; i < n; i++ {
		rel := "system.slice/docker-" + labkit.HexID("c4a5") + ".scope"
		dir := labkit.NewCgroup(t, rel)
		orig := map[string]string{"cpu.max": "max 100000", "cpu.weight": fmt.Sprint(50 + i),
			"memory.max": fmt.Sprint((200 + i) << 20), "memory.high": "max", "pids.max": fmt.Sprint(1000 + i)}
		for f, v := range orig {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0); err != nil {
				t.Fatal(err)
			}
			orig[f] = strings.TrimSpace(labkit.ReadFile(filepath.Join(dir, f)))
		}
		labkit.StartInCgroup(t, dir, "sleep", "3600")
		cgs = append(cgs, cg{rel, dir, orig})
	}
	q := startQuelld(t, crashPolicy)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	const kills = 5
	for k := 0; k < kills; k++ {
		d := 300*time.Millisecond + time.Duration(rng.Intn(1500))*time.Millisecond
		time.Sleep(d)
		applied := 0
		for _, c := range cgs {
			if strings.TrimSpace(labkit.ReadFile(filepath.Join(c.dir, "pids.max"))) == "77" {
				applied++
			}
		}
		q.kill9()
		t.Logf("FIGURE crash kill %d at +%v after the socket opened: %d/%d cgroups had pids.max applied", k+1, d, applied, n)
		// Every file already changed has its original in the state file.
		st := readState(t, q.dir)
		for _, c := range cgs {
			for f, o := range c.orig {
				cur := strings.TrimSpace(labkit.ReadFile(filepath.Join(c.dir, f)))
				if cur != o && st.Originals[c.rel][f] != o {
					t.Errorf("kill %d: %s/%s changed to %q but the state file keeps original %q, want %q",
						k+1, c.rel, f, cur, st.Originals[c.rel][f], o)
				}
			}
		}
		q.start()
	}
	// Settled: everything applied, and exactly once.
	for _, c := range cgs {
		for f, w := range want {
			waitFile(t, filepath.Join(c.dir, f), w, 10*time.Second)
		}
	}
	time.Sleep(2 * time.Second)
	evs := q.events()
	perFile := map[string]int{}
	for _, ev := range evs {
		if ev.Kind == "limit" {
			perFile[ev.Cgroup+" "+strings.SplitN(ev.Reason, ":", 2)[0]]++
		}
	}
	dups, recorded := 0, 0
	for k, c := range perFile {
		recorded++
		if c > 1 {
			dups++
			t.Errorf("%s: %d limit events across %d restarts, want at most 1 (applied once)", k, c, kills)
		}
	}
	t.Logf("FIGURE crash %d files applied, %d limit events recorded (lost with a kill: %d), duplicates %d",
		n*len(want), recorded, n*len(want)-recorded, dups)
	st := readState(t, q.dir)
	for _, c := range cgs {
		for f, o := range c.orig {
			if st.Originals[c.rel][f] != o {
				t.Errorf("state original %s/%s = %q, want %q", c.rel, f, st.Originals[c.rel][f], o)
			}
		}
	}
	before := len(evs)
	time.Sleep(3 * time.Second)
	if after := q.events(); len(after) != before {
		t.Errorf("%d new events in a quiet 3 s after the restarts; want none: %+v", len(after)-before, after[before:])
	}
	// The tenant leaves: every original comes back exactly.
	q.writePolicy(strings.Replace(crashPolicy, "docker-c4a5*", "docker-none*", 1))
	if err := q.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for _, c := range cgs {
		for f, o := range c.orig {
			waitFile(t, filepath.Join(c.dir, f), o, 10*time.Second)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if st := readState(t, q.dir); len(st.Originals) != 0 {
		t.Errorf("after the tenant left, the state still keeps originals for %d cgroups", len(st.Originals))
	}
}

const crashThrottlePolicy = `
[[tenant]]
name = "noisy"
  [tenant.match]
  cgroups = ["system.slice/docker-7407*.scope"]

[[rule]]
name = "always"
when = { signal = "host.memory.available", above = 0.0, for = "1s" }
target = { classes = ["burstable"], rank = "cpu" }
ladder = [{ action = "throttle", factor = 0.5, for = "25s" }]
cooldown = "10m"
`

// A throttle survives kill -9: on a container whose tenant has caps of its
// own, and on one whose tenant sets no limits (no plan of its own).
func TestQuelldCrashMidThrottle(t *testing.T) {
	t.Run("tenant-with-caps", func(t *testing.T) {
		crashMidThrottle(t, strings.Replace(crashThrottlePolicy, `cgroups = ["system.slice/docker-7407*.scope"]`,
			"cgroups = [\"system.slice/docker-7407*.scope\"]\n  [tenant.container]\n  pids = 500", 1))
	})
	t.Run("tenant-without-limits", func(t *testing.T) { crashMidThrottle(t, crashThrottlePolicy) })
}

func crashMidThrottle(t *testing.T, policy string) {
	labkit.Require(t)
	dir := labkit.NewCgroup(t, "system.slice/docker-"+labkit.HexID("7407")+".scope")
	labkit.StartBusyLoop(t, dir)
	q := startQuelld(t, policy)
	cpuMax := filepath.Join(dir, "cpu.max")
	var throttled string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if v := strings.TrimSpace(labkit.ReadFile(cpuMax)); v != "max 100000" {
			throttled = v
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if throttled == "" {
		t.Fatal("the busy container was not throttled within 30 s")
	}
	v := q.view()
	if len(v.Penalties) != 1 {
		t.Fatalf("penalties = %+v, want one throttle", v.Penalties)
	}
	until := v.Penalties[0].Deadline
	q.kill9()
	// An operator "fixing" things by hand while quelld is down.
	if err := os.WriteFile(cpuMax, []byte("max 100000"), 0); err != nil {
		t.Fatal(err)
	}
	q.start()
	waitFile(t, cpuMax, throttled, 15*time.Second)
	v = q.view()
	if len(v.Penalties) != 1 || !v.Penalties[0].Deadline.Equal(until) {
		t.Errorf("after restart penalties = %+v, want the throttle with its deadline %v", v.Penalties, until)
	}
	for time.Until(until) > time.Second {
		if got := strings.TrimSpace(labkit.ReadFile(cpuMax)); got != throttled {
			t.Fatalf("%v before the deadline cpu.max = %q, want the throttle %q still in force", time.Until(until), got, throttled)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Lifted at the deadline (the rule, still true, may throttle it again
	// afterwards: that is a new penalty, not this one kept too long).
	var lifted time.Time
	for end := until.Add(8 * time.Second); lifted.IsZero() && time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		for _, ev := range q.events() {
			if ev.Kind == "unthrottle" && ev.Time.After(until.Add(-time.Second)) {
				lifted = ev.Time
			}
		}
	}
	if lifted.IsZero() {
		t.Fatalf("no unthrottle event within 8 s of the deadline %v", until)
	}
	t.Logf("FIGURE crash throttle %q survived kill -9 (and a hand edit), lifted %v after its deadline", throttled, lifted.Sub(until).Round(10*time.Millisecond))
}
