package metrics

import "github.com/prometheus/client_golang/prometheus"

// Loop holds the instruments fed by the loop's hooks: the enforcer does not
// import this package; cmd/quelld updates them from enforcer.Hooks (OnEvent,
// OnReconcile). Create it with NewLoop before the enforcer, then register
// it with Register or hand it to NewRegistry.
type Loop struct {
	// ActionsTotal counts actions taken, by rule (or detector) and action
	// (limit, restore, throttle, unthrottle, freeze, thaw, evict); "policy"
	// and "error" events are not actions. Dry-run decisions count too, with
	// action suffixed "-dry-run".
	ActionsTotal *prometheus.CounterVec
	// ReconcileSeconds observes how long the reconcile step of each tick
	// (comparing and writing every watched cgroup's limits) took.
	ReconcileSeconds prometheus.Histogram
}

// NewLoop returns unregistered loop instruments.
func NewLoop() *Loop {
	return &Loop{
		ActionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quell_actions_total",
			Help: "Actions quell took, by rule and action.",
		}, []string{"rule", "action"}),
		ReconcileSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "quell_reconcile_duration_seconds",
			Help:    "Duration of one reconcile pass over every watched cgroup.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
}

// Register registers the instruments with reg.
func (l *Loop) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{l.ActionsTotal, l.ReconcileSeconds} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
