package enforcer

// defaultMetricsMaxContainers is the default of metrics_max_containers, the
// same as metrics.DefaultMaxContainers (package enforcer does not import
// its readers).
const defaultMetricsMaxContainers = 1000
