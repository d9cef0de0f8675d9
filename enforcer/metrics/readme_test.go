package metrics

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's metrics table from the exposition (go generate ./enforcer/metrics)")

const (
	tableBegin = "<!-- metrics-table begin: generated from the exposition by `go generate ./enforcer/metrics`; do not edit -->"
	tableEnd   = "<!-- metrics-table end -->"
)

// metricsTable is the README's reference table: every metric quelld
// exports of its own, its type, labels and help, from the exposition of
// fixedView (which TestEveryMetricIsInTheReference keeps complete).
func metricsTable(t *testing.T) string {
	t.Helper()
	mfs, err := referenceRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(mfs, func(a, b int) bool { return mfs[a].GetName() < mfs[b].GetName() })
	var b strings.Builder
	b.WriteString("| metric | type | labels | meaning |\n|---|---|---|---|\n")
	for _, mf := range mfs {
		seen := map[string]bool{}
		var labels []string
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !seen[l.GetName()] {
					seen[l.GetName()] = true
					labels = append(labels, "`"+l.GetName()+"`")
				}
			}
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			labels = append(labels, "`le` (on _bucket)")
		}
		typ := strings.ToLower(mf.GetType().String())
		help := strings.ReplaceAll(mf.GetHelp(), "|", `\|`)
		b.WriteString("| `" + mf.GetName() + "` | " + typ + " | " + strings.Join(labels, ", ") + " | " + help + " |\n")
	}
	return b.String()
}

// TestREADMEMetricsTable: the README's metrics reference is the exposition's
// own; a metric added, renamed or re-documented without regenerating the
// table fails here.
func TestREADMEMetricsTable(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q … %q", tableBegin, tableEnd)
	}
	want := metricsTable(t)
	got := readme[i+len(tableBegin)+1 : j]
	if got == want {
		return
	}
	if *updateREADME {
		readme = readme[:i+len(tableBegin)+1] + want + readme[j:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's metrics table is stale: run go generate ./enforcer/metrics (got %d bytes, want %d)", len(got), len(want))
}
