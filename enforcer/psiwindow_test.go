package enforcer

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/quell-dev/quell/limits"
)

func psiAt(some, full uint64) limits.PSI {
	return limits.PSI{Some: limits.PSILine{Total: some}, Full: limits.PSILine{Total: full}, HasFull: true}
}

func TestPSIWindowAvg1(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var w psiWindow
	w.add(t0, psiAt(0, 0))
	if _, _, ok := w.avg1(); ok {
		t.Fatal("avg1 from a single reading")
	}
	// 800 ms of some and 200 ms of full stall in the next second.
	w.add(t0.Add(time.Second), psiAt(800000, 200000))
	some, full, ok := w.avg1()
	if !ok || math.Abs(some-80) > 1e-9 || math.Abs(full-20) > 1e-9 {
		t.Fatalf("avg1 = %v %v %v, want 80 20 true", some, full, ok)
	}
	// A PSI wake-up 200 ms later: the window reaches back to the reading
	// at least 750 ms older (t0), not over the last 200 ms alone.
	w.add(t0.Add(1200*time.Millisecond), psiAt(1000000, 200000))
	if some, _, _ := w.avg1(); math.Abs(some-100*1.0/1.2) > 1e-9 {
		t.Fatalf("avg1 after a short tick = %v, want %v (1 s of stall over 1.2 s)", some, 100/1.2)
	}
	// Two more short ticks: t0+1s is now the newest reading ≥ 750 ms back.
	w.add(t0.Add(1500*time.Millisecond), psiAt(1000000, 200000))
	w.add(t0.Add(1900*time.Millisecond), psiAt(1000000, 200000))
	if some, _, _ := w.avg1(); math.Abs(some-100*0.2/0.9) > 1e-9 {
		t.Fatalf("avg1 = %v, want %v", some, 100*0.2/0.9)
	}
	// A recreated cgroup's counter starts over: no rate until a full window.
	w.add(t0.Add(2900*time.Millisecond), psiAt(10, 0))
	if _, _, ok := w.avg1(); ok {
		t.Fatal("avg1 across a counter reset")
	}
	// Rounding can give a hair over 100: clamp.
	w.add(t0.Add(3900*time.Millisecond), psiAt(10+1000100, 0))
	if some, _, _ := w.avg1(); some != 100 {
		t.Fatalf("avg1 = %v, want clamped to 100", some)
	}
	// More readings than slots keep the newest.
	for i := 0; i < 20; i++ {
		w.add(t0.Add(time.Duration(5+i)*time.Second), psiAt(uint64(2000000+i*500000), 0))
	}
	if some, _, _ := w.avg1(); math.Abs(some-50) > 1e-9 {
		t.Fatalf("avg1 = %v, want 50", some)
	}
}

func TestPSISignalsNames(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var w psiWindow
	p := limits.PSI{Some: limits.PSILine{Avg10: 63.2, Avg60: 1, Avg300: 2}}
	m := map[string]float64{}
	put := func(k string, v float64) { m[k] = v }
	w.add(t0, p)
	psiSignals("host.cpu", p, &w, put)
	if len(m) != 3 || m["host.cpu.some.avg10"] != 63.2 || m["host.cpu.some.avg300"] != 2 {
		t.Fatalf("signals = %v (no full line, no avg1 yet)", m)
	}
	p.Some.Total = 500000
	w.add(t0.Add(time.Second), p)
	psiSignals("host.cpu", p, &w, put)
	if len(m) != 5 || m["host.cpu.some.avg1"] != 50 || m["host.cpu.some.recent"] != 50 {
		t.Fatalf("signals = %v, want some.avg1 = some.recent = 50 and no full signals", m)
	}
}

// A CPU stall starts at t0+1s; the host's totals are sampled every 250 ms
// and a PSI trigger wakes a pass 200 ms after onset. Over the last second
// only 20% was stalled, so a rule on avg1 > 25 cannot act on that pass;
// recent, over the span back to the sample 200+ ms older, says 80%.
func TestPSIWindowRecentAtWakeUp(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var w psiWindow
	for i := 0; i <= 4; i++ { // quiet, sampled every 250 ms: t0 .. t0+1s
		w.add(t0.Add(time.Duration(i)*hostSampleEvery), psiAt(1000, 0))
	}
	w.add(t0.Add(1200*time.Millisecond), psiAt(1000+200000, 0)) // the wake-up
	if some, _, _ := w.avg1(); some > 25 {
		t.Fatalf("avg1 at the wake-up = %v: the test's premise (≤ 25) is wrong", some)
	}
	// The newest reading ≥ 200 ms older is t0+1s (200 ms back): 100%.
	// With the wake-up 150 ms after a sample, it reaches the one before.
	some, _, ok := w.recent()
	if !ok || math.Abs(some-100) > 1e-9 {
		t.Fatalf("recent at the wake-up = %v %v, want 100", some, ok)
	}
	var w2 psiWindow
	for i := 0; i <= 4; i++ {
		w2.add(t0.Add(time.Duration(i)*hostSampleEvery), psiAt(1000, 0))
	}
	w2.add(t0.Add(1150*time.Millisecond), psiAt(1000+150000, 0))
	if some, _, ok := w2.recent(); !ok || math.Abs(some-100*0.15/0.4) > 1e-9 {
		t.Fatalf("recent 150 ms after a sample = %v %v, want %v (over 400 ms)", some, ok, 100*0.15/0.4)
	}
	// A single reading, or two closer than shortSpan, give nothing.
	var w3 psiWindow
	w3.add(t0, psiAt(0, 0))
	w3.add(t0.Add(shortSpan-time.Millisecond), psiAt(1000, 0))
	if _, _, ok := w3.recent(); ok {
		t.Fatal("recent over less than shortSpan")
	}
}

const avg1Policy = `
[[tenant]]
name = "web"
class = "guaranteed"
  [tenant.match]
  names = ["web-*"]

[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "host-now"
when = { signal = "host.cpu.some.avg1", above = 50.0, for = "0s" }
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "throttle", factor = 0.5, for = "60s" }]
cooldown = "60s"
`

// A rule on host.cpu.some.avg1 acts on the first tick after a step in
// stall time, while avg10 (as the kernel would show it) is still low.
func TestRuleOnAvg1ActsOnTheFirstTickOfPressure(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", avg1Policy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	ctx := context.Background()
	total := 0
	step := func(stallUsec int) {
		total += stallUsec
		h.file("proc/pressure/cpu", "some avg10=2.00 avg60=0.00 avg300=0.00 total="+itoa(total)+"\n")
		h.file("cgroup/"+cg+"/cpu.stat", "usage_usec "+itoa(total*2)+"\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	step(0)
	step(10000) // 1%: quiet
	if got := h.read("cgroup/" + cg + "/cpu.max"); got != "max 100000" {
		t.Fatalf("acted on a quiet host: cpu.max = %q", got)
	}
	step(900000) // 90% of the last second stalled
	if got := h.read("cgroup/" + cg + "/cpu.max"); got == "max 100000" {
		t.Fatalf("no throttle on the first tick with host.cpu.some.avg1 = 90 (events %+v)", e.Events(0, 0))
	}
	if v := e.View().Host.Signals["host.cpu.some.avg1"]; math.Abs(v-90) > 0.01 {
		t.Fatalf("view host.cpu.some.avg1 = %v, want 90", v)
	}
}

// Tenant signals cover every average a rule may name (not only some
// avg10), from the member with the highest pressure.
func TestTenantSignalsAreTheWorstMembers(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", avg1Policy)
	a := h.container(idA, "web-a", 0)
	b := h.container(idB, "web-b", 0)
	clock := newClock()
	e := h.enforcerFS(clock)
	pressure := func(cg string, avg60 float64, total int) {
		h.file("cgroup/"+cg+"/cpu.pressure", "some avg10=1.00 avg60="+strconvF(avg60)+" avg300=0.00 total="+itoa(total)+
			"\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
	}
	pressure(a, 30, 0)
	pressure(b, 70, 0)
	e.Tick(context.Background())
	clock.Add(time.Second)
	pressure(a, 30, 600000)
	pressure(b, 70, 100000)
	e.Tick(context.Background())
	sig := tenantSignals(e.known)["web"]
	for name, want := range map[string]float64{"tenant.cpu.some.avg60": 70, "tenant.cpu.some.avg1": 60, "tenant.cpu.full.avg1": 0, "tenant.cpu.some.avg10": 1} {
		if got, ok := sig[name]; !ok || math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := sig["tenant.memory.some.avg10"]; ok {
		t.Errorf("tenant.memory.some.avg10 present though no member has memory.pressure: %v", sig)
	}
}

// steppingClock moves on by step at every reading.
type steppingClock struct {
	fakeClock
	step time.Duration
}

func (c *steppingClock) Now() time.Time { c.Add(c.step); return c.fakeClock.Now() }

// Between passes the host's PSI totals are sampled, so the pass after a
// quiet spell computes avg1 over the last second, not back to the last pass.
func TestHostSamplerFeedsAvg1BetweenPasses(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", avg1Policy)
	h.file("proc/pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
	clock := &steppingClock{fakeClock: fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}, step: 250 * time.Millisecond}
	e := h.enforcerFS(clock)
	e.Tick(context.Background()) // a pass, then 5 s without one
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.sampleHost(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.hostMu.Lock()
		n := e.hostPSI[0].n
		e.hostMu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	// The load starts: 450 ms of stall in the next 500 ms.
	e.hostMu.Lock()
	w := &e.hostPSI[0]
	last := w.base.Add(w.at[w.n-1])
	e.hostMu.Unlock()
	clock.fakeClock.mu.Lock()
	clock.fakeClock.t = last.Add(250 * time.Millisecond)
	clock.fakeClock.mu.Unlock()
	h.file("proc/pressure/cpu", "some avg10=1.00 avg60=0.00 avg300=0.00 total=450000\n")
	v := e.observeHost().Signals["host.cpu.some.avg1"]
	// The window reaches back ~0.75-1 s (to a sample), not to the pass.
	if v < 40 || v > 65 {
		t.Fatalf("host.cpu.some.avg1 = %v right after the load started; want 450 ms over ~0.75-1 s (45-60), not diluted over the time since the last pass", v)
	}
}

// With a long interval, a pass woken early (by a PSI trigger) must still
// see who started using the CPU: rates are computed over ≥ 500 ms, not
// over ≥ interval/2 (2.5 s here), else no culprit can be ranked.
func TestEarlyPassSeesNewCPUUseWithALongInterval(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", avg1Policy)
	cg := h.container(idA, "batch-miner", 0)
	clock := newClock()
	cfg := h.config()
	cfg.Interval = 5 * time.Second
	e, err := New(cfg, WithClock(clock))
	must(t, err)
	e.Tick(context.Background())
	clock.Add(600 * time.Millisecond)
	h.file("cgroup/"+cg+"/cpu.stat", "usage_usec 1200000\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n")
	e.Tick(context.Background())
	if got := e.known[cg].usage.CPUs; math.Abs(got-2) > 1e-6 {
		t.Fatalf("CPUs 600 ms after the last pass = %v, want 2 (1.2 s of CPU over 0.6 s)", got)
	}
	if got := e.known[cg].usage.Window; math.Abs(got-0.6) > 1e-9 {
		t.Errorf("rate window = %v s, want 0.6 (the span the rate covers, shown to readers)", got)
	}
}
