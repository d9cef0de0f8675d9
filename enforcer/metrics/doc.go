// Package metrics owns quelld's Prometheus exposition: a Collector that turns
// the enforcer's latest View into quell_* metrics at scrape time, the loop's
// own instruments (actions taken, reconcile duration), quell_build_info, and
// the HTTP server (127.0.0.1:9477/metrics by default; TLS and basic auth
// through an exporter-toolkit web config, as node_exporter). It reads
// nothing from the kernel and changes nothing: whatever it exports comes
// from the View it is handed.
//
// Names follow node_exporter and cAdvisor: base units (bytes, seconds,
// ratios 0..1), the kernel's cumulative counters as *_total so that
// rate() works at any scrape interval, gauges for limits and current
// values, one unit per metric, a dry run as a label. Per-container series
// carry tenant, container (the ID's first 12 characters) and name, for at
// most metrics_max_containers containers; the cgroup path and runtime are
// only on quell_container_info, to keep label sets short.
//
// The README's metrics table is generated from the exposition:
//
//go:generate go test -run TestREADMEMetricsTable -update-readme .
package metrics
