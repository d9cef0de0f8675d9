package detect

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

func miner() policies.Detector {
	return policies.Detector{Name: "miner", Kind: KindFlatCPU, MinCPUs: 0.9, MaxStddev: 0.05, Window: time.Minute, Action: "evict"}
}

func TestFlatCPU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cpu   func(i int) float64 // sample at second i
		ticks int
		want  int // second of the eviction, -1 none
	}{
		{"flat miner evicted once the window is covered", func(i int) float64 { return 0.97 + 0.01*math.Sin(float64(i)) }, 90, 60},
		{"bursty build is not flat", func(i int) float64 { return float64(i%4) * 0.8 }, 120, -1},
		{"flat but below min_cpus", func(i int) float64 { return 0.5 }, 120, -1},
		{"flat but window not covered yet", func(i int) float64 { return 1 }, 59, -1},
		{"unknown samples break the run", func(i int) float64 {
			if i == 40 {
				return -1
			}
			return 1
		}, 120, 104}, // 4s gap > MaxGap 3s: the run restarts at 44s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, Config{}, nil, []policies.Detector{miner()}, unit("u", policies.BestEffort, "ci", 0))
			w.units = append(w.units, unit("guar", policies.Guaranteed, "bank", 1)) // flat too, but guaranteed within limits
			got := -1
			for i := range tt.ticks {
				w.units[0].Usage.CPU = tt.cpu(i)
				if i == 41 || i == 42 || i == 43 {
					w.units[0].Usage.CPU = tt.cpu(40)
				}
				for _, a := range w.tick(0, time.Second) {
					if a.Target.ID != "u" || a.Kind != Evict || a.Detector != "miner" {
						t.Fatalf("action %+v", a)
					}
					if got >= 0 {
						t.Fatalf("second action at %d: %+v", i, a)
					}
					got = i
					if a.Signals["mean_cpus"] <= 0 || a.Evidence["window"] == "" || !strings.Contains(a.Reason, "standard deviation") {
						t.Fatalf("signals %v evidence %v reason %q", a.Signals, a.Evidence, a.Reason)
					}
				}
			}
			if got != tt.want {
				t.Fatalf("evicted at %d, want %d", got, tt.want)
			}
		})
	}
}

func TestProcessName(t *testing.T) {
	t.Parallel()
	d := policies.Detector{Name: "no-miners", Kind: KindProcessName, Names: []string{"xmr*", "minerd"}, Action: "freeze", For: 30 * time.Second}
	tests := []struct {
		procs []string
		want  bool
	}{
		{[]string{"bash", "xmrig"}, true},
		{[]string{"/usr/local/bin/minerd"}, true}, // exe basename
		{[]string{"bash", "make", "xmr"}, true},
		{[]string{"bash", "myxmrig", "miner"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		w := newWorld(t, Config{}, nil, []policies.Detector{d}, unit("u", policies.Burstable, "ci", 1))
		w.units[0].Processes = tt.procs
		var acts []Action
		for range 40 {
			acts = append(acts, w.tick(0, time.Second)...)
		}
		if !tt.want {
			if len(acts) != 0 {
				t.Errorf("%v: actions %+v", tt.procs, acts)
			}
			continue
		}
		// Freeze once at 0s, thaw at its deadline 30s, no re-fire within DetectorCooldown.
		if len(acts) != 2 || acts[0].Kind != Freeze || acts[1].Kind != Thaw || acts[0].Evidence["process"] == "" {
			t.Errorf("%v: actions %+v", tt.procs, acts)
		}
	}
}

func TestProcessNameRefiresAfterCooldown(t *testing.T) {
	t.Parallel()
	d := policies.Detector{Name: "p", Kind: KindProcessName, Names: []string{"xmrig"}, Action: "throttle", Factor: 0.1, For: 10 * time.Second}
	w := newWorld(t, Config{DetectorCooldown: 5 * time.Second}, nil, []policies.Detector{d}, unit("u", policies.BestEffort, "ci", 1))
	w.units[0].Processes = []string{"xmrig"}
	sameList(t, "actions", w.run(0, 20), []string{"0s throttle u", "10s unthrottle u", "15s throttle u"})
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	d := policies.Detector{Name: "pools", Kind: KindEndpoint, Ports: []int{3333}, Addresses: []string{"198.51.100.0/24", "2001:db8::1"}, Action: "evict"}
	ap := netip.MustParseAddrPort
	tests := []struct {
		eps  []netip.AddrPort
		want string // signal or evidence key that matched, "" none
	}{
		{[]netip.AddrPort{ap("93.184.216.34:443"), ap("203.0.113.9:3333")}, "port"},
		{[]netip.AddrPort{ap("198.51.100.77:443")}, "cidr"},
		{[]netip.AddrPort{ap("[::ffff:198.51.100.77]:443")}, "cidr"}, // v4-mapped
		{[]netip.AddrPort{ap("[2001:db8::1]:80")}, "cidr"},
		{[]netip.AddrPort{ap("[2001:db8::2]:80"), ap("198.51.101.1:3334")}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		w := newWorld(t, Config{}, nil, []policies.Detector{d}, unit("u", policies.BestEffort, "ci", 1))
		w.units[0].Endpoints = tt.eps
		acts := w.tick(0, time.Second)
		switch {
		case tt.want == "" && len(acts) != 0:
			t.Errorf("%v: actions %+v", tt.eps, acts)
		case tt.want != "" && (len(acts) != 1 || acts[0].Evidence[tt.want] == "" && acts[0].Signals[tt.want] == 0 || acts[0].Evidence["endpoint"] == ""):
			t.Errorf("%v: actions %+v, want evidence %q", tt.eps, acts, tt.want)
		}
	}
}

func TestDetectorClasses(t *testing.T) {
	t.Parallel()
	d := policies.Detector{Name: "p", Kind: KindProcessName, Names: []string{"xmrig"}, Action: "evict"}
	g := unit("g", policies.Guaranteed, "bank", 1)
	g.Processes = []string{"xmrig"}
	pr := unit("quelld", policies.BestEffort, "ci", 1)
	pr.Processes, pr.Protected = []string{"xmrig"}, true
	w := newWorld(t, Config{}, nil, []policies.Detector{d}, g, pr)
	if acts := w.tick(0, time.Second); len(acts) != 0 {
		t.Fatalf("guaranteed within limits / protected targeted: %+v", acts)
	}
	d.Classes = []policies.Class{policies.Guaranteed}
	w = newWorld(t, Config{}, nil, []policies.Detector{d}, g, pr)
	if acts := w.tick(0, time.Second); len(acts) != 1 || acts[0].Target.ID != "g" {
		t.Fatalf("explicit guaranteed class: %+v", acts)
	}
}

func TestDetectorEvictionBudgetShared(t *testing.T) {
	t.Parallel()
	d := policies.Detector{Name: "p", Kind: KindProcessName, Names: []string{"xmrig"}, Action: "evict"}
	var us []Unit
	for _, id := range []string{"a", "b", "c"} {
		u := unit(id, policies.BestEffort, "ci", 1)
		u.Processes = []string{"xmrig"}
		us = append(us, u)
	}
	w := newWorld(t, Config{EvictionBudget: 2}, nil, []policies.Detector{d}, us...)
	sameList(t, "actions", w.run(0, 3), []string{"0s evict a", "0s evict b"})
	w.remove("a")
	w.remove("b")
	w.now = w.now.Add(time.Minute)
	if acts := w.tick(0, time.Second); len(acts) != 1 || acts[0].Target.ID != "c" {
		t.Fatalf("after the window: %+v", acts)
	}
}
