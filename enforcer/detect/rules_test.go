package detect

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

func TestSustainedVersusFlapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		signal  []float64 // one per second; NaN = missing
		gapAt   int       // if > 0, a 4s gap (> MaxGap) before this sample
		wantAct int       // index of the sample that acts, -1 none
	}{
		{"sustained 5s acts at 5s", []float64{50, 50, 50, 50, 50, 50, 50}, 0, 5},
		{"exactly at threshold is not above", []float64{40, 40, 40, 40, 40, 40, 40}, 0, -1},
		{"flapping never acts", []float64{50, 30, 50, 30, 50, 30, 50, 30, 50, 30}, 0, -1},
		{"one sample back under resets", []float64{50, 50, 50, 50, 39, 50, 50, 50, 50, 50, 50}, 0, 10},
		{"missing sample resets", []float64{50, 50, 50, 50, math.NaN(), 50, 50, 50, 50, 50, 50}, 0, 10},
		{"gap between snapshots resets", []float64{50, 50, 50, 50, 50, 50, 50, 50, 50}, 3, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil, unit("be1", policies.BestEffort, "ci", 1.9))
			acted := -1
			for i, v := range tt.signal {
				if i == tt.gapAt && i > 0 {
					w.now = w.now.Add(3 * time.Second) // 4s since the previous sample
				}
				if acts := w.tick(v, time.Second); len(acts) > 0 && acted < 0 {
					acted = i
					if acts[0].Kind != Throttle || acts[0].Target.ID != "be1" || acts[0].Factor != 0.5 {
						t.Fatalf("action = %+v", acts[0])
					}
				}
			}
			if acted != tt.wantAct {
				t.Fatalf("acted at sample %d, want %d", acted, tt.wantAct)
			}
		})
	}
}

func TestReasonAndEvidence(t *testing.T) {
	t.Parallel()
	w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil,
		unit("ci-build-7", policies.BestEffort, "ci", 1.9), unit("web", policies.Burstable, "acme", 0.5))
	var acts []Action
	for range 6 {
		acts = append(acts, w.tick(63.2, time.Second)...)
	}
	if len(acts) != 1 {
		t.Fatalf("actions = %+v", acts)
	}
	a := acts[0]
	want := "host.cpu.some.avg10 was 63.2 > 40 for 5s; ci-build-7 (best-effort, tenant ci) used 1.90 CPUs, the most among eligible units"
	if a.Reason != want {
		t.Fatalf("reason\n got %q\nwant %q", a.Reason, want)
	}
	if a.Rule != "cpu-contention" || a.Step != 0 || !a.Deadline.Equal(t0.Add(65*time.Second)) || a.DryRun {
		t.Fatalf("action = %+v", a)
	}
	if a.Signals["value"] != 63.2 || a.Signals["use"] != 1.9 || a.Evidence["held_for"] != "5s" {
		t.Fatalf("signals = %v, evidence = %v", a.Signals, a.Evidence)
	}
	if a.Evidence["signal"] != "host.cpu.some.avg10" || a.Evidence["tenant"] != "ci" || len(a.Signals)+len(a.Evidence) != 12 {
		t.Fatalf("signals = %v, evidence = %v", a.Signals, a.Evidence)
	}
}

func TestLadder(t *testing.T) {
	t.Parallel()
	t.Run("escalates throttle, freeze, evict while the signal stays high", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil,
			unit("be1", policies.BestEffort, "ci", 1.9), unit("be2", policies.BestEffort, "ci", 0.2))
		got := w.run(60, 36)
		// Evaluation period after a step: max(for 5s, grace 10s), capped by the step's for.
		sameList(t, "actions", got, []string{
			"5s throttle be1",
			"15s freeze be1",
			"25s evict be1",
			"35s throttle be2", // be1 is being evicted; next culprit once the signal held the evaluation period again
		})
	})
	t.Run("a throttled culprit that no longer ranks first is not escalated", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil,
			unit("starter", policies.BestEffort, "ci", 0.5), unit("miner", policies.BestEffort, "ci", 0))
		got := w.run(60, 6)         // the starter is throttled at 5s
		w.units[0].Usage.CPU = 0.05 // held by its throttle
		w.units[1].Usage.CPU = 1.9  // the real load starts
		got = append(got, w.run(60, 12)...)
		sameList(t, "actions", got, []string{"5s throttle starter", "15s throttle miner"})
	})
	t.Run("not escalated when the others' pressure is relieved", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil,
			unit("be1", policies.BestEffort, "ci", 1.9), unit("web1", policies.Guaranteed, "web", 0.3))
		w.tens["web"] = Tenant{Class: policies.Guaranteed, Signals: map[string]float64{"tenant.cpu.some.avg10": 70}}
		w.tens["ci"] = Tenant{Class: policies.BestEffort, Signals: map[string]float64{"tenant.cpu.some.avg10": 95}}
		got := w.run(60, 6) // throttled at 5s
		// The host signal stays high (the throttled culprit stalls), but the
		// victim tenant's pressure fell: no freeze, no evict.
		w.tens["web"] = Tenant{Class: policies.Guaranteed, Signals: map[string]float64{"tenant.cpu.some.avg10": 3}}
		got = append(got, w.run(60, 40)...)
		sameList(t, "actions", got, []string{"5s throttle be1"})
		// The victim suffers again: the ladder goes on.
		w.tens["web"] = Tenant{Class: policies.Guaranteed, Signals: map[string]float64{"tenant.cpu.some.avg10": 80}}
		got = w.run(60, 1)
		sameList(t, "actions", got, []string{"46s freeze be1"})
	})
	t.Run("stops when relieved and lifts at the deadline", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil, unit("be1", policies.BestEffort, "ci", 1.9))
		got := w.run(60, 8)                 // throttle at 5s
		got = append(got, w.run(20, 60)...) // relieved: no freeze, throttle lifted at 65s
		sameList(t, "actions", got, []string{"5s throttle be1", "1m5s unthrottle be1"})
		st := w.e.State()
		if st.Rules[0].Step != -1 || st.Rules[0].CooldownUntil.IsZero() {
			t.Fatalf("rule state = %+v", st.Rules[0])
		}
	})
	t.Run("short step for caps the evaluation period", func(t *testing.T) {
		t.Parallel()
		r := cpuRule()
		r.Ladder[0].For = 3 * time.Second
		w := newWorld(t, Config{}, []policies.Rule{r}, nil, unit("be1", policies.BestEffort, "ci", 1.9))
		sameList(t, "actions", w.run(60, 10), []string{"5s throttle be1", "8s unthrottle be1", "8s freeze be1"})
	})
}

// A pass that took 8 s to reach the act step (quelld stalled on a
// thrashing host) must not eat into a 5 s throttle: it runs from when it
// was applied, not from when the samples were taken. (It once ended in
// the pass that applied it.)
func TestSlowPassDoesNotShortenThePenalty(t *testing.T) {
	t.Parallel()
	r := cpuRule()
	r.Ladder[0].For = 5 * time.Second
	w := newWorld(t, Config{}, []policies.Rule{r}, nil, unit("be1", policies.BestEffort, "ci", 1.9))
	w.lag = 8 * time.Second
	var acts []Action
	for range 6 {
		acts = append(acts, w.tick(60, time.Second)...)
	}
	if len(acts) != 1 || acts[0].Kind != Throttle || !acts[0].Deadline.Equal(t0.Add(18*time.Second)) {
		t.Fatalf("actions = %+v, want one throttle until 5s + 8s lag + 5s", acts)
	}
	if p := w.e.Penalties(); len(p) != 1 || !p[0].Since.Equal(t0.Add(13*time.Second)) {
		t.Fatalf("penalties = %+v, want one since 13s", p)
	}
	w.lag = 0
	sameList(t, "actions", w.run(10, 14), []string{"18s unthrottle be1"})
}

func TestHysteresis(t *testing.T) {
	t.Parallel()
	r := cpuRule()
	r.Release = f64(30)
	w := newWorld(t, Config{}, []policies.Rule{r}, nil, unit("be1", policies.BestEffort, "ci", 1.9))
	got := w.run(35, 10)                // in the band while idle: nothing
	got = append(got, w.run(45, 6)...)  // 10s..15s: throttle at 15s
	got = append(got, w.run(35, 20)...) // in the band: not escalated, not released
	if st := w.e.State().Rules[0]; st.Step != 0 || st.Culprit != "be1" {
		t.Fatalf("in the band the ladder should hold at step 0, got %+v", st)
	}
	got = append(got, w.run(45, 11)...) // 36s..46s: held 10s again → freeze at 46s
	got = append(got, w.run(29, 1)...)  // below release: relieved
	sameList(t, "actions", got, []string{"15s throttle be1", "46s freeze be1"})
	if st := w.e.State().Rules[0]; st.Step != -1 {
		t.Fatalf("below release the ladder should stop, got %+v", st)
	}
}

func TestCooldown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil,
		unit("be1", policies.BestEffort, "ci", 1.9), unit("be2", policies.BestEffort, "ci", 1.0))
	got := w.run(60, 6)                 // throttle be1 at 5s
	got = append(got, w.run(10, 1)...)  // 6s: relieved, cooldown until 36s
	got = append(got, w.run(60, 39)...) // 7s..45s: held since 7s, acts when cooldown ends
	// be1 is still throttled by this rule, so the next culprit is be2.
	sameList(t, "actions", got, []string{"5s throttle be1", "36s throttle be2"})
}

func TestEvictionBudget(t *testing.T) {
	t.Parallel()
	r := cpuRule()
	r.Ladder = []policies.Step{{Action: "evict"}}
	r.Cooldown = 0
	w := newWorld(t, Config{EvictionBudget: 1, EvictionWindow: time.Minute}, []policies.Rule{r}, nil,
		unit("a", policies.BestEffort, "ci", 3), unit("b", policies.BestEffort, "ci", 2), unit("c", policies.BestEffort, "ci", 1))
	got := w.run(60, 17) // b is picked at 15s (10s after the eviction) and refused
	sameList(t, "first minute", got, []string{"5s evict a"})
	st := w.e.State()
	if !strings.Contains(st.Rules[0].Waiting, "budget") || st.Evictions.Used != 1 || st.Evictions.Max != 1 {
		t.Fatalf("state = %+v", st)
	}
	w.remove("a") // the kill worked
	got = w.run(60, 55)
	sameList(t, "after the window", got, []string{"1m5s evict b"})
}

func TestNegativeBudgetNeverEvicts(t *testing.T) {
	t.Parallel()
	r := cpuRule()
	r.Ladder = []policies.Step{{Action: "evict"}}
	w := newWorld(t, Config{EvictionBudget: -1}, []policies.Rule{r}, nil, unit("a", policies.BestEffort, "ci", 3))
	if got := w.run(60, 30); len(got) != 0 {
		t.Fatalf("actions = %v", got)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	for _, global := range []bool{false, true} {
		r := cpuRule()
		r.DryRun = !global
		w := newWorld(t, Config{DryRun: global, EvictionBudget: 1}, []policies.Rule{r}, nil,
			unit("be1", policies.BestEffort, "ci", 1.9), unit("be2", policies.BestEffort, "ci", 1))
		var acts []Action
		for range 70 {
			acts = append(acts, w.tick(60, time.Second)...)
		}
		if len(acts) < 4 {
			t.Fatalf("global=%v: want the would-be ladder, got %+v", global, acts)
		}
		evicts := 0
		for _, a := range acts {
			if !a.DryRun {
				t.Fatalf("global=%v: non-dry-run action %+v", global, a)
			}
			if a.Kind == Evict {
				evicts++
			}
		}
		if evicts < 2 {
			t.Fatalf("global=%v: dry runs must not spend the budget of 1, got %d evictions", global, evicts)
		}
		for _, p := range w.e.Penalties() {
			if !p.DryRun {
				t.Fatalf("global=%v: real penalty %+v", global, p)
			}
		}
		if u := w.e.State().Evictions.Used; u != 0 {
			t.Fatalf("global=%v: budget used %d", global, u)
		}
	}
}

func TestUnitVanishesMidPenalty(t *testing.T) {
	t.Parallel()
	w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil,
		unit("be1", policies.BestEffort, "ci", 1.9), unit("be2", policies.BestEffort, "ci", 1))
	got := w.run(60, 8) // throttle be1 at 5s
	w.remove("be1")
	got = append(got, w.run(60, 31)...)
	w.remove("be2") // evicted
	got = append(got, w.run(60, 80)...)
	// The gone be1 is unthrottled at once (in case its cgroup still exists)
	// and never frozen; be2 becomes the culprit once the condition held for
	// the evaluation period (10s) after be1 vanished (at 8s); the evicted
	// be2's penalties are forgotten, and nothing is left to act on.
	sameList(t, "actions", got, []string{"5s throttle be1", "8s unthrottle be1", "18s throttle be2", "28s freeze be2", "38s evict be2"})
	if len(w.e.Penalties()) != 0 {
		t.Fatalf("penalties of gone units kept: %+v", w.e.Penalties())
	}
	if st := w.e.State().Rules[0]; st.Waiting != "no eligible unit to act on" {
		t.Fatalf("state = %+v", st)
	}
	for _, p := range w.e.Penalties() {
		if p.Target.ID == "be1" {
			t.Fatalf("penalty of a gone unit kept: %+v", p)
		}
	}
}

func TestTenantSignalTargetsNeighbours(t *testing.T) {
	t.Parallel()
	r := cpuRule()
	r.When.Signal = "tenant.cpu.some.avg10"
	r.Target.Classes = nil
	w := newWorld(t, Config{}, []policies.Rule{r}, nil,
		unit("victim", policies.Burstable, "acme", 3), unit("noisy", policies.BestEffort, "ci", 1))
	w.tens["acme"] = Tenant{Class: policies.Burstable, Signals: map[string]float64{"tenant.cpu.some.avg10": 70}}
	w.tens["ci"] = Tenant{Class: policies.BestEffort, Signals: map[string]float64{"tenant.cpu.some.avg10": 5}}
	var acts []Action
	for range 6 {
		acts = append(acts, w.tick(0, time.Second)...)
	}
	if len(acts) != 1 || acts[0].Target.ID != "noisy" || !strings.HasPrefix(acts[0].Reason, "tenant.cpu.some.avg10 of tenant acme was 70") {
		t.Fatalf("actions = %+v", acts)
	}
	if st := w.e.State(); len(st.Rules) != 2 || st.Rules[0].Tenant != "acme" || st.Rules[0].Culprit != "noisy" {
		t.Fatalf("state = %+v", st.Rules)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil, unit("be1", policies.BestEffort, "ci", 1.9))
	w.run(60, 6)
	acts := w.e.Release("system.slice/docker-be1.scope")
	if len(acts) != 1 || acts[0].Kind != Unthrottle || !strings.Contains(acts[0].Reason, "operator") {
		t.Fatalf("release = %+v", acts)
	}
	if len(w.e.Penalties()) != 0 {
		t.Fatal("penalty kept after release")
	}
	// The rule cools down: nothing until 5s + 30s.
	if got := w.run(60, 25); len(got) != 0 {
		t.Fatalf("acted during cooldown: %v", got)
	}
	if len(w.e.Release("nothing")) != 0 {
		t.Fatal("release of an unknown unit returned actions")
	}
}

func TestNewEngineRejects(t *testing.T) {
	t.Parallel()
	bad := []policies.Rule{
		{Name: "no-threshold", When: policies.When{Signal: "x"}, Ladder: []policies.Step{{Action: "evict"}}},
		{Name: "no-ladder", When: policies.When{Signal: "x", Above: f64(1)}},
		{Name: "bad-action", When: policies.When{Signal: "x", Above: f64(1)}, Ladder: []policies.Step{{Action: "kill"}}},
		{Name: "bad-rank", When: policies.When{Signal: "x", Above: f64(1)}, Ladder: []policies.Step{{Action: "evict"}}, Target: policies.Target{Rank: "gpu"}},
	}
	for _, r := range bad {
		if _, err := NewEngine(Config{}, []policies.Rule{r}, nil); err == nil || !strings.Contains(err.Error(), r.Name) {
			t.Errorf("rule %s: err = %v", r.Name, err)
		}
	}
	badDets := []policies.Detector{
		{Name: "bad-glob", Kind: KindProcessName, Names: []string{"[x"}, Action: "evict"},
		{Name: "bad-cidr", Kind: KindEndpoint, Addresses: []string{"10.0.0.0/33"}, Action: "evict"},
		{Name: "no-window", Kind: KindFlatCPU, MinCPUs: 1, Action: "evict"},
		{Name: "bad-kind", Kind: "gpu", Action: "evict"},
		{Name: "bad-action", Kind: KindProcessName, Names: []string{"x"}, Action: "kill"},
	}
	for _, d := range badDets {
		if _, err := NewEngine(Config{}, nil, []policies.Detector{d}); err == nil || !strings.Contains(err.Error(), d.Name) {
			t.Errorf("detector %s: err = %v", d.Name, err)
		}
	}
}

func TestSetPolicyKeepsStateAndSurvivesShorterLadder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, Config{}, []policies.Rule{cpuRule()}, nil, unit("be1", policies.BestEffort, "ci", 1.9))
	got := w.run(60, 16) // throttle at 5s, freeze at 15s (step index 1)
	r := cpuRule()
	r.Ladder = r.Ladder[:1]
	if err := w.e.SetPolicy([]policies.Rule{r}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.e.SetPolicy([]policies.Rule{{Name: "bad"}}, nil); err == nil {
		t.Fatal("bad policy accepted")
	}
	got = append(got, w.run(60, 30)...)
	sameList(t, "actions", got, []string{"5s throttle be1", "15s freeze be1", "45s thaw be1"})
	if n := len(w.e.Penalties()); n != 1 {
		t.Fatalf("penalties = %+v", w.e.Penalties())
	}
}

func TestBelowRuleRanksMemory(t *testing.T) {
	t.Parallel()
	r := policies.Rule{
		Name:    "low-memory",
		When:    policies.When{Signal: "host.memory.available", Below: f64(1 << 30), For: 2 * time.Second},
		Release: f64(2 << 30),
		Target:  policies.Target{Rank: "memory"},
		Ladder:  []policies.Step{{Action: "freeze", For: 20 * time.Second}},
	}
	small := unit("small", policies.BestEffort, "ci", 3)
	big := unit("big", policies.BestEffort, "ci", 0.1)
	big.Usage.Memory = 6 << 30
	w := newWorld(t, Config{}, []policies.Rule{r}, nil, small, big)
	avail := func(v float64, n int) []string {
		w.host["host.memory.available"] = v
		return w.run(math.NaN(), n)
	}
	got := avail(3<<30, 3)                      // plenty
	got = append(got, avail(512<<20, 4)...)     // 3s..6s: below for 2s at 5s
	got = append(got, avail(1.5*(1<<30), 5)...) // in the band: neither
	got = append(got, avail(3<<30, 20)...)      // relieved; thawed at 25s
	sameList(t, "actions", got, []string{"5s freeze big", "25s thaw big"})
	if !strings.Contains(w.e.State().Rules[0].Signal, "available") {
		t.Fatal(w.e.State())
	}
}

func TestNoBystanderBlamedForALaggingSignalAfterAnEviction(t *testing.T) {
	t.Parallel()
	r := cpuRule()
	r.When.For = time.Second
	r.Ladder = []policies.Step{{Action: "throttle", Factor: 0.5, For: 4 * time.Second}, {Action: "evict"}}
	w := newWorld(t, Config{}, []policies.Rule{r}, nil,
		unit("bomb", policies.BestEffort, "ci", 1.9), unit("quiet", policies.BestEffort, "ci", 0.01))
	got := w.run(90, 6) // throttle at 1s, evict at 5s
	w.remove("bomb")
	// avg10 decays from 90 over ~10s: still above 40 for 8 more seconds.
	for _, v := range []float64{74, 60, 50, 45, 43, 42, 41, 41} {
		got = append(got, w.run(v, 1)...)
	}
	got = append(got, w.run(20, 5)...)
	sameList(t, "actions", got, []string{"1s throttle bomb", "5s unthrottle bomb", "5s evict bomb"})
	t.Run("a signal that stays high still finds the next culprit", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, Config{}, []policies.Rule{r}, nil,
			unit("bomb", policies.BestEffort, "ci", 1.9), unit("next", policies.BestEffort, "ci", 1.5))
		got := w.run(90, 6)
		w.remove("bomb")
		got = append(got, w.run(90, 12)...)
		sameList(t, "actions", got, []string{"1s throttle bomb", "5s unthrottle bomb", "5s evict bomb", "15s throttle next"})
	})
}

// A signal is the number the reason quotes: before Action.Signals, the act
// step parsed Evidence's fmtVal text back, and events must not change.
func TestFigureIsWhatFmtValShows(t *testing.T) {
	t.Parallel()
	vs := []float64{0, 1.9, 63.219, 63.225, -0.004, 0.005, 0.015, 1.005, 99999.994, 99999.996, 1e5, 100000.5, 100001.5,
		-100000.5, 123456789.5, 1 << 53, 1<<53 + 2, 1e300, -1e300, math.Inf(1), math.Inf(-1), math.NaN()}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		vs = append(vs, (r.Float64()-0.5)*math.Pow(10, float64(r.IntN(14))), float64(r.IntN(1e7))+0.5, float64(r.IntN(1e7))/200)
	}
	for _, v := range vs {
		want, err := strconv.ParseFloat(fmtVal(v), 64)
		if err != nil {
			t.Fatalf("fmtVal(%v) = %q: %v", v, fmtVal(v), err)
		}
		if got := figure(v); math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("figure(%v) = %v, fmtVal shows %q", v, got, fmtVal(v))
		}
	}
}
