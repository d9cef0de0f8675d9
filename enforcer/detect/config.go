package detect

import "time"

// Config tunes the engine. Zero values take the defaults below.
type Config struct {
	// DryRun makes every action a dry run (recorded, never executed), in
	// addition to rules with DryRun set.
	DryRun bool

	// MaxGap is the longest interval between two snapshots that still counts
	// as continuous for a rule's "for" and a flat-cpu window. Default 3s.
	MaxGap time.Duration

	// Grace is the least time a ladder step is given before the next step:
	// the rule escalates once its condition has held again for
	// max(when.for, Grace) since the step, or for the step's own "for" when
	// that is shorter. PSI averages lag (avg10 needs ~10s to reflect a
	// change), hence the default 10s.
	Grace time.Duration

	// EvictionBudget is the most evictions (rules and detectors together, dry
	// runs excluded) in any EvictionWindow. Default 3; negative: no
	// evictions at all (the step waits, see RuleState.Waiting).
	EvictionBudget int
	// EvictionWindow is the budget's sliding window. Default 1m.
	EvictionWindow time.Duration
	// EvictRetry is how long a unit that was told to be evicted is skipped
	// when it is still there (the kill failed or is slow). Default 1m.
	EvictRetry time.Duration

	// DefaultFor is a throttle or freeze duration for steps and detectors
	// that have none. Default 60s. DefaultFactor is the throttle factor when
	// none is set. Default 0.5.
	DefaultFor    time.Duration
	DefaultFactor float64

	// DetectorCooldown is how long after a detector's penalty ended it waits
	// before acting again on a unit that still matches. Default 1m.
	DetectorCooldown time.Duration

	// MaxStddev is the flat-cpu max_stddev when a detector has none (CPUs).
	// Default 0.1.
	MaxStddev float64

	// Now is the clock for Restore and Release (Tick uses Snapshot.Time).
	// Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MaxGap, 3*time.Second)
	def(&c.Grace, 10*time.Second)
	def(&c.EvictionWindow, time.Minute)
	def(&c.EvictRetry, time.Minute)
	def(&c.DefaultFor, 60*time.Second)
	def(&c.DetectorCooldown, time.Minute)
	if c.EvictionBudget == 0 {
		c.EvictionBudget = 3
	}
	if c.EvictionBudget < 0 {
		c.EvictionBudget = 0
	}
	if c.DefaultFactor <= 0 || c.DefaultFactor >= 1 {
		c.DefaultFactor = 0.5
	}
	if c.MaxStddev <= 0 {
		c.MaxStddev = 0.1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
