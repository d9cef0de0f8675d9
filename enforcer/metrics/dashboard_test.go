package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// exposed returns every metric name quelld exports (a histogram's _bucket,
// _sum and _count included) with its label names, plus Prometheus' own up.
// job and instance are added by Prometheus to every series.
func exposed(t *testing.T) map[string]map[string]bool {
	t.Helper()
	mfs, err := referenceRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{"up": {}}
	for _, mf := range mfs {
		labels := map[string]bool{"job": true, "instance": true}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		out[mf.GetName()] = labels
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			out[mf.GetName()+"_sum"], out[mf.GetName()+"_count"] = labels, labels
			bucket := map[string]bool{"le": true}
			for k := range labels {
				bucket[k] = true
			}
			out[mf.GetName()+"_bucket"] = bucket
		}
	}
	for _, l := range out {
		l["job"], l["instance"] = true, true
	}
	return out
}

var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	selector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping = regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`)
	ident    = regexp.MustCompile(`\$?[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// checkQuery reports the metrics and labels of a PromQL query that quelld
// does not export. Every quell_* name must be exported, with the labels its
// selector matches on; a by()/on() label must be on one of the query's
// metrics; and the query must name at least one metric.
func checkQuery(t *testing.T, where, q string, exp map[string]map[string]bool) {
	t.Helper()
	for _, p := range queryProblems(q, exp) {
		t.Errorf("%s: %s: %s", where, p, q)
	}
}

func queryProblems(q string, exp map[string]map[string]bool) []string {
	var out []string
	for _, m := range selector.FindAllStringSubmatch(q, -1) {
		labels, ok := exp[m[1]]
		if !ok {
			continue // reported below
		}
		for _, lm := range matcher.FindAllStringSubmatch(quoted.ReplaceAllString(m[2], `""`), -1) {
			if !labels[lm[1]] {
				out = append(out, fmt.Sprintf("%s has no label %q", m[1], lm[1]))
			}
		}
	}
	bare := quoted.ReplaceAllString(q, `""`)
	bare = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(bare, "{}")
	var names []string
	for _, id := range ident.FindAllString(bare, -1) {
		if id == "up" || strings.HasPrefix(id, "quell_") {
			names = append(names, id)
			if _, ok := exp[id]; !ok {
				out = append(out, id+" is not a metric quelld exports")
			}
		}
	}
	if len(names) == 0 {
		out = append(out, "names no metric")
	}
	for _, g := range grouping.FindAllStringSubmatch(bare, -1) {
		for _, l := range strings.Split(g[1], ",") {
			l = strings.TrimSpace(l)
			found := false
			for _, n := range names {
				found = found || exp[n][l]
			}
			if l != "" && !found {
				out = append(out, fmt.Sprintf("grouping label %q is on none of %v", l, names))
			}
		}
	}
	return out
}

// TestQueryCheckCatchesMistakes: the check itself finds a misspelt metric,
// a label the metric does not have, a grouping by a missing label and a
// query without a metric, and passes a good query.
func TestQueryCheckCatchesMistakes(t *testing.T) {
	t.Parallel()
	exp := exposed(t)
	for q, want := range map[string]string{
		`rate(quell_container_cpu_usage_seconds_total{tenant="a"}[5m])`:                            "",
		`sum by (tenant) (rate(quell_tenant_cpu_usage_seconds_total{instance=~"$i"}[5m]))`:         "",
		`histogram_quantile(0.9, sum by (le) (rate(quell_reconcile_duration_seconds_bucket[5m])))`: "",
		`rate(quell_container_cpu_usage_cpus[5m])`:                                                 "not a metric",
		`quell_host_memory_available_bytes{tenant="acme"}`:                                         "has no label",
		`sum by (rule) (quell_penalties_active)`:                                                   "grouping label",
		`time() - 5`:                                                                               "names no metric",
		`quell_tenant_memory_usage_bytes{tenant="quell_not_a_metric"}`:                             "",
	} {
		got := strings.Join(queryProblems(q, exp), "; ")
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s: problems %q, want %q", q, got, want)
		}
	}
}

// TestDashboardQueriesNameExportedMetrics: every query of the Grafana
// dashboard (panels, rows' panels, template variables) names metrics and
// labels that quelld's exposition has, so no panel is silently empty.
func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "quell.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []dashPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/quell.json: %v", err)
	}
	exp := exposed(t)
	n := 0
	var walk func(ps []dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				n++
				checkQuery(t, "panel "+p.Title, tg.Expr, exp)
			}
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			if err := json.Unmarshal(v.Query, &q.Query); err != nil {
				t.Fatalf("variable %s: query: %v", v.Name, err)
			}
		}
		n++
		checkQuery(t, "variable "+v.Name, q.Query, exp)
	}
	if n < 20 {
		t.Errorf("only %d queries found: the walk missed panels", n)
	}
	t.Logf("FIGURE dashboard: %d queries checked against %d exported metric names", n, len(exp))
}

type dashPanel struct {
	Type    string      `json:"type"`
	Title   string      `json:"title"`
	Panels  []dashPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// TestAlertRulesNameExportedMetrics: the same check on every expr of the
// alert rules (promtool checks their syntax, not that quelld exports what
// they query).
func TestAlertRulesNameExportedMetrics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "quell.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	exp := exposed(t)
	n := 0
	for i, line := range strings.Split(string(b), "\n") {
		if q, ok := strings.CutPrefix(strings.TrimSpace(line), "expr:"); ok {
			n++
			checkQuery(t, "quell.rules.yml:"+strconv.Itoa(i+1), strings.TrimSpace(q), exp)
		}
	}
	if n < 7 {
		t.Errorf("only %d rules found", n)
	}
}
