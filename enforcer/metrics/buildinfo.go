package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quell-dev/quell/internal/version"
)

// NewBuildInfo returns quell_build_info{version, commit, goversion} 1, as
// node_exporter's node_exporter_build_info, from internal/version (set by
// -ldflags at build time).
func NewBuildInfo() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "quell_build_info",
		Help: "quelld's version, the commit it was built from and the Go version; always 1.",
		ConstLabels: prometheus.Labels{
			"version": labelValue(version.Version), "commit": labelValue(version.Commit), "goversion": runtime.Version(),
		},
	}, func() float64 { return 1 })
}
