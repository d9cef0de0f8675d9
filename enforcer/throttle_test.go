package enforcer

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/limits"
)

const rankPolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]
  [tenant.container]
  pids = 500

[[rule]]
name = "storm"
when = { signal = "host.RES.some.avg10", above = 20.0, for = "1s" }
target = { classes = ["best-effort"], rank = "RANK" }
ladder = [{ action = "throttle", factor = 0.25, for = "60s" }, { action = "freeze", for = "30s" }]
cooldown = "30s"
`

// throttleOnce runs ticks, calling busy before each, until file of cg
// changes from its first value; it returns the new value.
func throttleOnce(t *testing.T, h *fakeHost, e *Enforcer, clock *fakeClock, cg, file string, busy func()) string {
	t.Helper()
	first := h.read("cgroup/" + cg + "/" + file)
	for i := 0; i < 10; i++ {
		busy()
		e.Tick(context.Background())
		if got := h.read("cgroup/" + cg + "/" + file); got != first {
			return got
		}
		clock.Add(time.Second)
	}
	t.Fatalf("%s of %s never changed from %q", file, cg, first)
	return ""
}

func TestThrottleRankPidsCapsTasksAtTheirCount(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", strings.NewReplacer("RES", "cpu", "RANK", "pids").Replace(rankPolicy))
	cg := h.container(idA, "batch-bomb", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	h.cpuPressure(90)
	usage := 0
	busy := func() {
		usage += 1900000
		h.cpuUsage(cg, usage)
		h.file("cgroup/"+cg+"/pids.current", "317\n")
	}
	got := throttleOnce(t, h, e, clock, cg, "pids.max", busy)
	// First the tenant cap (500), then the throttle: the count it had.
	if got == "500" {
		clock.Add(time.Second)
		got = throttleOnce(t, h, e, clock, cg, "pids.max", busy)
	}
	if got != "317" {
		t.Fatalf("pids.max = %q, want the 317 tasks it had", got)
	}
	if cpu := h.read("cgroup/" + cg + "/cpu.max"); cpu != "47500 100000" {
		t.Errorf("cpu.max = %q, want ¼ of 1.9 CPUs", cpu)
	}
	// Lifted at the deadline: the tenant's own cap comes back.
	clock.Add(61 * time.Second)
	h.cpuPressure(0)
	e.Tick(context.Background())
	if got := h.read("cgroup/" + cg + "/pids.max"); got != "500" {
		t.Errorf("after the throttle pids.max = %q, want the tenant cap 500 back", got)
	}
}

func TestThrottleRankIOSetsIOMaxFromThePerDeviceRate(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", strings.NewReplacer("RES", "io", "RANK", "io").Replace(rankPolicy))
	cg := h.container(idA, "batch-storm", 0)
	h.file("cgroup/"+cg+"/io.max", "")
	h.file("proc/pressure/io", "some avg10=80.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=70.00 avg60=0.00 avg300=0.00 total=1\n")
	clock := newClock()
	e := h.enforcerFS(clock)
	w, wios := 0, 0
	got := throttleOnce(t, h, e, clock, cg, "io.max", func() {
		w, wios = w+40_000_000, wios+40 // 40 MB/s in 1 MiB writes on 254:16; a little reading on 8:0
		h.file("cgroup/"+cg+"/io.stat", "8:0 rbytes="+itoa(w/100)+" wbytes=0 rios="+itoa(wios)+" wios=0 dbytes=0 dios=0\n"+
			"254:16 rbytes=0 wbytes="+itoa(w)+" rios=0 wios="+itoa(wios)+" dbytes=0 dios=0\n")
	})
	// A fake file keeps only the last line written: check the planned caps.
	want := map[string]string{
		"8:0":    "8:0 rbps=100000 wbps=max riops=10 wiops=max",
		"254:16": "254:16 rbps=max wbps=10000000 riops=max wiops=10",
	}
	p := e.det.throttles[cg].Throttle
	if len(p.IOMax) != 2 {
		t.Fatalf("io throttle caps = %+v (io.max now %q), want two devices", p.IOMax, got)
	}
	for _, d := range p.IOMax {
		if s := d.String(); s != want[strings.Fields(s)[0]] {
			t.Errorf("io.max line %q, want %q", s, want[strings.Fields(s)[0]])
		}
	}
	if !strings.Contains(got, "wbps=10000000") && !strings.Contains(got, "rbps=100000") {
		t.Errorf("io.max written = %q", got)
	}
}

func TestTighterThrottleKeepsTheTighterIORate(t *testing.T) {
	t.Parallel()
	base := []limits.IOMax{{Major: 8, Minor: 0, RBPS: 5_000_000, WBPS: 1_000_000}}
	pen := []limits.IOMax{{Major: 8, Minor: 0, WBPS: 2_000_000, WIOPS: 50}, {Major: 254, Minor: 0, WBPS: 7}}
	c := tighterThrottle(detect.Penalty{Throttle: limits.Resources{IOMax: base}}, detect.Penalty{Throttle: limits.Resources{IOMax: pen}})
	got := c.Throttle.IOMax
	want := []limits.IOMax{{Major: 8, Minor: 0, RBPS: 5_000_000, WBPS: 1_000_000, WIOPS: 50}, {Major: 254, Minor: 0, WBPS: 7}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("merge = %+v, want %+v", got, want)
	}
	if base[0].WIOPS != 0 {
		t.Fatal("merge modified its base")
	}
}

func TestThrottleRankMemorySetsMemoryHighAndDryRunSaysWhatItWouldSet(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", strings.NewReplacer("RES", "memory", "RANK", "memory").Replace(rankPolicy))
	cg := h.container(idA, "batch-hog", 0)
	h.file("cgroup/"+cg+"/memory.current", "1073741824\n")
	h.file("proc/pressure/memory", "some avg10=60.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=30.00 avg60=0.00 avg300=0.00 total=1\n")
	clock := newClock()
	e := h.enforcerFS(clock)
	got := throttleOnce(t, h, e, clock, cg, "memory.high", func() {})
	if got != "268435456" {
		t.Fatalf("memory.high = %q, want ¼ of 1 GiB", got)
	}
	// No cpu.max beside it: the hog must run to reclaim what it holds
	// over memory.high; its weight drops so its neighbours run first.
	if cpu, w := h.read("cgroup/"+cg+"/cpu.max"), h.read("cgroup/"+cg+"/cpu.weight"); cpu != "max 100000" || w != "1" {
		t.Errorf("a memory throttle set cpu.max %q, cpu.weight %q; want max 100000 (untouched), 1", cpu, w)
	}
	var after string
	for _, ev := range e.Events(0, 0) {
		if ev.Kind == "throttle" {
			after = ev.After
		}
	}
	if !strings.Contains(after, "memory.high 268435456") {
		t.Errorf("throttle event after = %q", after)
	}
}

func TestLiveFreezeHoldsAgainAfterStandDownAndRestart(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "freeze-it"
when = { signal = "host.cpu.some.avg10", above = 20.0, for = "1s" }
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "freeze", for = "30s" }]
`)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	h.cpuPressure(90)
	usage := 0
	throttleOnce(t, h, e, clock, cg, "cgroup.freeze", func() {
		usage += 1500000
		h.cpuUsage(cg, usage)
	})
	e.standDown()
	if got := h.read("cgroup/" + cg + "/cgroup.freeze"); got != "0" {
		t.Fatalf("stand-down left cgroup.freeze = %q", got)
	}
	clock.Add(10 * time.Second) // back before the deadline
	e2 := h.enforcerFS(clock)
	e2.restorePenalties(context.Background())
	if got := h.read("cgroup/" + cg + "/cgroup.freeze"); got != "1" {
		t.Fatalf("restarted before the deadline: cgroup.freeze = %q, want the freeze held again", got)
	}
	clock.Add(25 * time.Second) // past the deadline
	h.cpuPressure(0)
	e2.Tick(context.Background())
	if got := h.read("cgroup/" + cg + "/cgroup.freeze"); got != "0" {
		t.Fatalf("after the deadline cgroup.freeze = %q, want thawed", got)
	}
}

// A pass that reaches the act step 8 s after it sampled (quelld stalled on
// a thrashing host; here the reconcile hook moves the clock) still throttles
// for the rule's full 60 s from the moment the throttle is written.
func TestSlowPassThrottlesForTheFullDuration(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", strings.NewReplacer("RES", "cpu", "RANK", "cpu").Replace(rankPolicy))
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	slow := false
	cfg := h.config()
	cfg.Interval = 5 * time.Second // passes 9 s apart are then not a gap that breaks "for"
	e, err := New(cfg, WithClock(clock), WithCgroupFS(freezeFS{limits.NewFS(h.cg), h.cg}),
		WithHooks(Hooks{OnReconcile: func(time.Duration) {
			if slow {
				clock.Add(8 * time.Second)
			}
		}}))
	must(t, err)
	h.cpuPressure(90)
	usage := 0
	busy := func() {
		usage += 1900000
		h.cpuUsage(cg, usage)
		slow = true
	}
	throttleOnce(t, h, e, clock, cg, "cpu.max", busy)
	slow = false
	written := clock.Now()
	pens := e.View().Penalties
	if len(pens) != 1 || !pens[0].Since.Equal(written) || !pens[0].Deadline.Equal(written.Add(60*time.Second)) {
		t.Fatalf("penalties = %+v, want one from %v (when it was written) for 60s", pens, written)
	}
	clock.Add(59 * time.Second)
	busy()
	slow = false
	e.Tick(context.Background())
	if got := h.read("cgroup/" + cg + "/cpu.max"); got == "max 100000" {
		t.Fatalf("throttle lifted %v after it was written, want 60s", clock.Now().Sub(written))
	}
}

// At interval = 5s passes come 5 s apart: that is no gap, and a rule's
// "for = 10s" is met after two of them. (The engine's fixed 3 s gap once
// reset it on every pass, so such a rule never acted.)
func TestRuleForHoldsAcrossPassesAtALongInterval(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	pol := strings.NewReplacer("RES", "cpu", "RANK", "cpu", `for = "1s"`, `for = "10s"`).Replace(rankPolicy)
	h.file("policy.d/10.toml", pol)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	cfg := h.config()
	cfg.Interval = 5 * time.Second
	e, err := New(cfg, WithClock(clock), WithCgroupFS(freezeFS{limits.NewFS(h.cg), h.cg}))
	must(t, err)
	h.cpuPressure(90)
	usage := 0
	for i := range 5 {
		usage += 5 * 1900000
		h.cpuUsage(cg, usage)
		e.Tick(context.Background())
		if got := h.read("cgroup/" + cg + "/cpu.max"); got != "max 100000" {
			if i < 2 {
				t.Fatalf("throttled at pass %d (%q), before the condition held 10s", i, got)
			}
			return
		}
		clock.Add(5 * time.Second)
	}
	t.Fatalf("never throttled in 25 s of passes 5 s apart with the signal above the threshold")
}

// The throttle event carries the figures behind the decision as numbers and
// the other facts as text, as `quell events -o json` shows them.
func TestThrottleEventSignalsAndEvidence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rank, file string
		want       string
	}{
		{"cpu", "cpu.max", `{"signals":{"release":20,"score":1.23,"tenant_guarantee":0,"tenant_use":1.23,"threshold":20,"use":1.23,"value":63.22},` +
			`"evidence":{"class":"best-effort","held_for":"1s","rank":"cpu","signal":"host.cpu.some.avg10","tenant":"batch"}}`},
		{"memory", "memory.high", `{"signals":{"release":20,"score":1073741827,"tenant_guarantee":0,"tenant_use":1073741827,"threshold":20,"use":1073741827,"value":63.22},` +
			`"evidence":{"class":"best-effort","held_for":"1s","rank":"memory","signal":"host.cpu.some.avg10","tenant":"batch"}}`},
	} {
		t.Run(tc.rank, func(t *testing.T) {
			t.Parallel()
			h := newFakeHost(t)
			h.file("policy.d/10.toml", strings.NewReplacer("RES", "cpu", "RANK", tc.rank).Replace(rankPolicy))
			cg := h.container(idA, "batch-hog", 0)
			h.file("cgroup/"+cg+"/memory.current", "1073741827\n")
			clock := newClock()
			e := h.enforcerFS(clock)
			h.cpuPressure(63.219)
			usage := 0
			throttleOnce(t, h, e, clock, cg, tc.file, func() {
				usage += 1234567
				h.cpuUsage(cg, usage)
			})
			evs, _ := e.events.since(0, 0)
			for _, ev := range evs {
				if ev.Kind != "throttle" {
					continue
				}
				b, err := json.Marshal(struct {
					S map[string]float64 `json:"signals"`
					E map[string]string  `json:"evidence"`
				}{ev.Signals, ev.Evidence})
				must(t, err)
				if string(b) != tc.want {
					t.Fatalf("throttle event\n got %s\nwant %s", b, tc.want)
				}
				return
			}
			t.Fatalf("no throttle event in %+v", evs)
		})
	}
}
