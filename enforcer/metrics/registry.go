package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/quell-dev/quell/enforcer/view"
)

// NewRegistry returns a fresh registry holding a Collector over current, the
// loop instruments (made earlier with NewLoop, since the enforcer's hooks
// update them), and the Go runtime and process collectors.
func NewRegistry(current func() *view.View, loop *Loop) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	if err := loop.Register(reg); err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{
		NewCollector(current),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}
