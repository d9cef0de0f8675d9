package metrics

import (
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// referenceRegistry is what quelld exports of its own (no go_*/process_*):
// the collector over fixedView, the loop instruments and quell_build_info.
func referenceRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := fixedRegistry(t)
	reg.MustRegister(NewBuildInfo())
	return reg
}

// describedNames are the names of every descriptor quelld can export.
func describedNames(t *testing.T) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 512)
	NewCollector(fixedView, 0).Describe(ch)
	loop := NewLoop()
	loop.ActionsTotal.Describe(ch)
	loop.ReconcileSeconds.Describe(ch)
	NewBuildInfo().Describe(ch)
	close(ch)
	out := map[string]bool{}
	for d := range ch {
		s := d.String() // Desc{fqName: "quell_x", help: …}
		i := strings.Index(s, `fqName: "`) + len(`fqName: "`)
		out[s[i:i+strings.IndexByte(s[i:], '"')]] = true
	}
	return out
}

// TestEveryMetricIsInTheReference: the fixture exercises every metric
// quelld can export, so the golden exposition, the README table and the
// dashboard test see them all.
func TestEveryMetricIsInTheReference(t *testing.T) {
	t.Parallel()
	mfs, err := referenceRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	gathered := map[string]bool{}
	for _, mf := range mfs {
		gathered[mf.GetName()] = true
	}
	var missing []string
	for n := range describedNames(t) {
		if !gathered[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("described but not in fixedView's exposition (extend fixture_test.go): %s", strings.Join(missing, ", "))
	}
	t.Logf("FIGURE metrics: %d quell_* metric families", len(gathered))
}

// nonBaseUnits are unit spellings Prometheus names must not use: seconds,
// bytes and ratios 0..1 are the base units.
var nonBaseUnits = []string{"_percent", "_pct", "_bits", "_milliseconds", "_ms", "_usec", "_microseconds",
	"_kib", "_mib", "_gib", "_kb", "_mb", "_gb", "_minutes", "_hours", "_avg10_"}

func TestNamesAndUnits(t *testing.T) {
	t.Parallel()
	mfs, err := referenceRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "quell_") {
			t.Errorf("%s: not in the quell_ namespace", name)
		}
		isCounter := mf.GetType() == dto.MetricType_COUNTER
		if isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s: a %s; counters, and only counters, end in _total", name, mf.GetType())
		}
		for _, bad := range nonBaseUnits {
			if strings.Contains(name+"_", bad) {
				t.Errorf("%s: %q is not a base unit (seconds, bytes, ratio)", name, strings.Trim(bad, "_"))
			}
		}
		if strings.Contains(name, "timestamp") && !strings.HasSuffix(name, "_timestamp_seconds") {
			t.Errorf("%s: timestamps are _timestamp_seconds", name)
		}
		if strings.HasSuffix(name, "_info") {
			for _, m := range mf.GetMetric() {
				if m.GetGauge().GetValue() != 1 {
					t.Errorf("%s: an info metric is always 1", name)
				}
			}
		}
		if strings.HasSuffix(name, "_ratio") {
			for _, m := range mf.GetMetric() {
				if v := m.GetGauge().GetValue(); v < 0 || v > 1 {
					t.Errorf("%s = %v: a ratio is 0..1", name, v)
				}
			}
		}
		if strings.HasSuffix(name, "_seconds_total") || strings.HasSuffix(name, "_bytes_total") {
			continue
		}
	}
	problems, err := testutil.GatherAndLint(referenceRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	want := `# HELP quell_build_info quelld's version, the commit it was built from and the Go version; always 1.
# TYPE quell_build_info gauge
quell_build_info{commit="",goversion="` + runtime.Version() + `",version="dev"} 1
`
	if err := testutil.CollectAndCompare(NewBuildInfo(), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestDryRunIsALabel: a dry run's decisions are the same actions with
// dry_run="true", so one query sees both and a rule can tell them apart.
func TestDryRunIsALabel(t *testing.T) {
	t.Parallel()
	l := NewLoop()
	l.Action("miner", "evict", true)
	l.Action("miner", "evict", false)
	l.Action("miner", "evict", false)
	l.Action("", "error", false)
	l.Action("", "policy", true)
	want := `# HELP quell_actions_total Actions quell took (dry_run="false") or only recorded in a dry run (dry_run="true"), by rule and action.
# TYPE quell_actions_total counter
quell_actions_total{action="evict",dry_run="false",rule="miner"} 2
quell_actions_total{action="evict",dry_run="true",rule="miner"} 1
`
	if err := testutil.CollectAndCompare(l.ActionsTotal, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
