// Package metrics owns quelld's Prometheus exposition: a Collector that turns
// the enforcer's latest View into quell_* metrics at scrape time, the loop's
// own instruments (actions taken, reconcile duration), and the HTTP server on
// 127.0.0.1:9477/metrics. It reads nothing from the kernel and changes
// nothing: whatever it exports comes from the View it is handed.
//
// Names follow Prometheus conventions: base units (bytes, seconds, ratios
// 0..1 rather than percentages, bytes/s rather than bits/s), _total for
// counters. Per-container series carry tenant, container (the ID's first 12
// characters) and name; the cgroup path and runtime are only on
// quell_container_info, to keep label sets short.
package metrics
