package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fakeClock is the clock for Restore and Release.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func f64(v float64) *float64 { return &v }

func sec(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

// cpuRule is the DESIGN.md example: host.cpu.some.avg10 > 40 for 5s,
// throttle 0.5 for 60s → freeze 30s → evict, cooldown 30s.
func cpuRule() policies.Rule {
	return policies.Rule{
		Name:   "cpu-contention",
		When:   policies.When{Signal: "host.cpu.some.avg10", Above: f64(40), For: 5 * time.Second},
		Target: policies.Target{Classes: []policies.Class{policies.BestEffort, policies.Burstable}, Rank: "cpu"},
		Ladder: []policies.Step{
			{Action: "throttle", Factor: 0.5, For: 60 * time.Second},
			{Action: "freeze", For: 30 * time.Second},
			{Action: "evict"},
		},
		Cooldown: 30 * time.Second,
	}
}

func unit(id string, class policies.Class, tenant string, cpus float64) Unit {
	return Unit{ID: id, Name: id, Cgroup: "system.slice/docker-" + id + ".scope", Tenant: tenant, Class: class,
		WithinLimits: true, Usage: Usage{CPU: cpus, Memory: 1 << 20, IO: 0, Pids: 1}}
}

// world is a mutable host the tests drive tick by tick.
type world struct {
	t     *testing.T
	e     *Engine
	clk   *fakeClock
	now   time.Time
	host  map[string]float64
	units []Unit
	tens  map[string]Tenant
	lag   time.Duration // how long each pass takes to reach the act step (Snapshot.ActAt - Time)
}

func newWorld(t *testing.T, cfg Config, rules []policies.Rule, dets []policies.Detector, units ...Unit) *world {
	t.Helper()
	clk := &fakeClock{now: t0}
	cfg.Now = clk.Now
	e, err := NewEngine(cfg, rules, dets)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, e: e, clk: clk, now: t0, host: map[string]float64{}, units: units, tens: map[string]Tenant{}}
}

// tick sets the cpu signal (NaN = missing) and evaluates a snapshot at
// the world's time, then advances the time by step.
func (w *world) tick(cpu float64, step time.Duration) []Action {
	w.t.Helper()
	host := map[string]float64{}
	for k, v := range w.host {
		host[k] = v
	}
	if cpu == cpu {
		host["host.cpu.some.avg10"] = cpu
	}
	units := append([]Unit(nil), w.units...)
	acts := w.e.Tick(Snapshot{Time: w.now, ActAt: w.now.Add(w.lag), Host: host, Units: units, Tenants: w.tens})
	w.clk.now = w.now
	w.now = w.now.Add(step)
	return acts
}

// run ticks every second for n ticks at a constant signal, collecting actions
// with the second they were emitted at (relative to t0).
func (w *world) run(cpu float64, n int) []string {
	w.t.Helper()
	var got []string
	for range n {
		at := w.now.Sub(t0)
		for _, a := range w.tick(cpu, time.Second) {
			got = append(got, fmt.Sprintf("%s %s %s", at, a.Kind, a.Target.ID))
		}
	}
	return got
}

func (w *world) remove(id string) {
	for i := range w.units {
		if w.units[i].ID == id {
			w.units = append(w.units[:i], w.units[i+1:]...)
			return
		}
	}
	w.t.Fatalf("no unit %s", id)
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
