package detect

import (
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

func TestRanking(t *testing.T) {
	t.Parallel()
	be := policies.BestEffort
	bu := policies.Burstable
	gu := policies.Guaranteed
	over := func(u Unit) Unit { u.WithinLimits = false; return u }
	prot := func(u Unit) Unit { u.Protected = true; return u }
	mem := func(u Unit, b float64) Unit { u.Usage.Memory = b; return u }
	tests := []struct {
		name    string
		target  policies.Target
		tenants map[string]Tenant
		units   []Unit
		want    string // "" = nobody
	}{
		{
			name:  "best-effort first even when a burstable uses more",
			units: []Unit{unit("big", bu, "acme", 3), unit("small", be, "ci", 0.5)},
			want:  "small",
		},
		{
			name:  "largest best-effort",
			units: []Unit{unit("a", be, "ci", 0.5), unit("b", be, "ci", 1.9), unit("c", be, "batch", 1.2)},
			want:  "b",
		},
		{
			name:    "burstable within its guarantee is not a target",
			tenants: map[string]Tenant{"acme": {Class: bu, Guarantee: Usage{CPU: 4}}},
			units:   []Unit{unit("web", bu, "acme", 3)},
			want:    "",
		},
		{
			name: "burstable furthest over its guarantee",
			tenants: map[string]Tenant{
				"acme": {Class: bu, Guarantee: Usage{CPU: 2}},   // uses 3: 1/3 over → web scores 1
				"shop": {Class: bu, Guarantee: Usage{CPU: 0.5}}, // uses 2: 3/4 over → db scores 1.5
			},
			units: []Unit{unit("web", bu, "acme", 3), unit("db", bu, "shop", 2)},
			want:  "db",
		},
		{
			name:    "guaranteed within limits is never a target",
			target:  policies.Target{Classes: []policies.Class{gu}},
			tenants: map[string]Tenant{"bank": {Class: gu, Guarantee: Usage{CPU: 1}}},
			units:   []Unit{unit("core", gu, "bank", 8)},
			want:    "",
		},
		{
			name:    "guaranteed over its limits may be",
			target:  policies.Target{Classes: []policies.Class{gu}},
			tenants: map[string]Tenant{"bank": {Class: gu, Guarantee: Usage{CPU: 1}}},
			units:   []Unit{over(unit("core", gu, "bank", 8))},
			want:    "core",
		},
		{
			name:    "guaranteed over limits comes after burstable",
			tenants: map[string]Tenant{"bank": {Class: gu, Guarantee: Usage{CPU: 1}}},
			units:   []Unit{over(unit("core", gu, "bank", 8)), unit("web", bu, "acme", 0.3)},
			want:    "web",
		},
		{
			name:  "protected units never",
			units: []Unit{prot(unit("quelld", be, "ci", 9)), unit("b", be, "ci", 0.1)},
			want:  "b",
		},
		{
			name:  "unassigned units never",
			units: []Unit{unit("stray", be, "", 9)},
			want:  "",
		},
		{
			name:   "class filter",
			target: policies.Target{Classes: []policies.Class{bu}},
			units:  []Unit{unit("be", be, "ci", 2), unit("bu", bu, "acme", 1)},
			want:   "bu",
		},
		{
			name:   "tenant filter",
			target: policies.Target{Tenants: []string{"batch"}},
			units:  []Unit{unit("a", be, "ci", 2), unit("b", be, "batch", 1)},
			want:   "b",
		},
		{
			name:   "rank memory",
			target: policies.Target{Rank: "memory"},
			units:  []Unit{mem(unit("cpuhog", be, "ci", 3), 1<<20), mem(unit("memhog", be, "ci", 0.1), 8<<30)},
			want:   "memhog",
		},
		{
			name:  "unknown usage is not ranked",
			units: []Unit{unit("unknown", be, "ci", -1), unit("known", be, "ci", 0.2)},
			want:  "known",
		},
		{
			name:  "tie broken by ID",
			units: []Unit{unit("b", be, "ci", 1), unit("a", be, "ci", 1)},
			want:  "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cpuRule()
			r.Target = tt.target
			w := newWorld(t, Config{}, []policies.Rule{r}, nil, tt.units...)
			if tt.tenants != nil {
				w.tens = tt.tenants
			}
			var acts []Action
			for range 6 {
				acts = append(acts, w.tick(60, time.Second)...)
			}
			got := ""
			if len(acts) > 0 {
				got = acts[0].Target.ID
			}
			if got != tt.want {
				t.Fatalf("culprit = %q, want %q (actions %+v)", got, tt.want, acts)
			}
		})
	}
}
