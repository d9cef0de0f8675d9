package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/quell-dev/quell/enforcer/view"
)

// NewRegistry returns a fresh registry holding a Collector over current
// (per-container series for at most maxContainers containers; 0 means
// DefaultMaxContainers), the loop instruments (made earlier with NewLoop,
// since the enforcer's hooks update them), quell_build_info, and the Go
// runtime and process collectors.
func NewRegistry(current func() *view.View, loop *Loop, maxContainers int) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	if err := loop.Register(reg); err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{
		NewCollector(current, maxContainers),
		NewBuildInfo(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}
