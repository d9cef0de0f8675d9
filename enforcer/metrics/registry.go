package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/quell-dev/quell/enforcer"
)

// NewRegistry returns a fresh registry holding a Collector over view, the
// loop instruments, and the Go runtime and process collectors; and the loop
// instruments for the enforcer to update.
func NewRegistry(view func() *enforcer.View) (*prometheus.Registry, *Loop, error) {
	reg := prometheus.NewRegistry()
	loop := NewLoop()
	if err := loop.Register(reg); err != nil {
		return nil, nil, err
	}
	for _, c := range []prometheus.Collector{
		NewCollector(view),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, nil, err
		}
	}
	return reg, loop, nil
}
