package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Loop holds the instruments fed by the loop's hooks: the enforcer does not
// import this package; cmd/quelld updates them from enforcer.Hooks (OnEvent,
// OnReconcile). Create it with NewLoop before the enforcer, then register
// it with Register or hand it to NewRegistry.
type Loop struct {
	// ActionsTotal counts actions, by rule (or detector), action (limit,
	// restore, throttle, unthrottle, freeze, thaw, evict) and dry_run
	// ("true" for what a dry run only recorded); "policy" and "error"
	// events are not actions. Feed it with Action.
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
			Help: "Actions quell took (dry_run=\"false\") or only recorded in a dry run (dry_run=\"true\"), by rule and action.",
		}, []string{"rule", "action", "dry_run"}),
		ReconcileSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "quell_reconcile_duration_seconds",
			Help:    "Duration of one reconcile pass over every watched cgroup.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
}

// Action counts one event of kind by rule; kinds that are not actions
// ("policy", "error") are not counted. Rule names come from the policy,
// which root writes: they are label values as they are.
func (l *Loop) Action(rule, kind string, dryRun bool) {
	if kind == "policy" || kind == "error" {
		return
	}
	l.ActionsTotal.WithLabelValues(labelValue(rule), labelValue(kind), strconv.FormatBool(dryRun)).Inc()
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
