package metrics

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quell-dev/quell/enforcer/view"
)

var update = flag.Bool("update", false, "rewrite testdata/*.prom from the current output")

// fixedRegistry registers the collector over fixedView and loop instruments
// that saw two throttles and one reconcile pass.
func fixedRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(fixedView, 0))
	loop := NewLoop()
	if err := loop.Register(reg); err != nil {
		t.Fatal(err)
	}
	loop.Action("cpu-contention", "throttle", false)
	loop.Action("cpu-contention", "throttle", false)
	loop.Action("miner", "evict", true)
	loop.Action("", "policy", false) // not an action
	loop.ReconcileSeconds.Observe(0.004)
	return reg
}

func TestGoldenExposition(t *testing.T) {
	t.Parallel()
	reg := fixedRegistry(t)
	golden := filepath.Join("testdata", "view.prom")
	if *update {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, mf := range mfs {
			if _, err := expfmtWrite(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(reg, f); err != nil {
		t.Error(err)
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	problems, err := testutil.GatherAndLint(fixedRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestRegistryWithRuntimeCollectorsGathers(t *testing.T) {
	t.Parallel()
	loop := NewLoop()
	reg, err := NewRegistry(fixedView, loop, 0)
	if err != nil {
		t.Fatal(err)
	}
	loop.Action("miner", "evict", false)
	if n, err := testutil.GatherAndCount(reg, "quell_actions_total", "quell_policy_valid", "go_goroutines", "quell_build_info"); err != nil || n != 4 {
		t.Errorf("count = %d, %v; want 4 series", n, err)
	}
}

func TestNoViewExportsNothing(t *testing.T) {
	t.Parallel()
	c := NewCollector(func() *view.View { return nil }, 0)
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("%d series before the first observation, want 0", n)
	}
}

func TestInvalidPolicyIsZero(t *testing.T) {
	t.Parallel()
	c := NewCollector(func() *view.View {
		v := fixedView()
		v.Policy.Valid = false
		return v
	}, 0)
	want := `# HELP quell_policy_valid 1 when the last policy load succeeded, 0 when it failed (the last good policy stays in force).
# TYPE quell_policy_valid gauge
quell_policy_valid 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "quell_policy_valid"); err != nil {
		t.Error(err)
	}
}

func TestShortID(t *testing.T) {
	t.Parallel()
	if got := shortID(webID); got != "3f2a1b4c5d6e" {
		t.Errorf("shortID(64 hex) = %q", got)
	}
	if got := shortID(nspawn); got != nspawn {
		t.Errorf("shortID(%q) = %q: a non-hex ID must stay whole", nspawn, got)
	}
}
