package enforcer

import (
	"log/slog"
	"time"

	"github.com/quell-dev/quell/enforcer/discover"
)

// Config is everything the enforcer needs from outside. Every kernel and
// state path is here so tests can point it at a fake tree.
type Config struct {
	CgroupRoot  string         // cgroup2 mount, "/sys/fs/cgroup"
	ProcRoot    string         // "/proc"
	StateDir    string         // "/var/lib/quell"
	PolicyPaths []string       // files or dirs, "/etc/quell/policy.d"
	Runtimes    discover.Roots // runtime state roots
	Interval    time.Duration  // stats, desire and reconcile; default 1s
	Resync      time.Duration  // full rediscovery; default 30s (inotify covers the rest)
	DryRun      bool           // decide and record, write nothing
	// ReadOnly is for the CLI without the daemon: implies DryRun, never
	// writes the state dir, never creates tenant slices.
	ReadOnly bool
	// SelfCgroup is quelld's own cgroup (from /proc/self/cgroup); never
	// limited, frozen or killed, and never descended into.
	SelfCgroup string
	// MaxEvictionsPerMinute bounds evictions host-wide.
	MaxEvictionsPerMinute int
	// NoPressureWakeups turns off the PSI triggers on /proc/pressure that
	// wake the loop between ticks: rules are then evaluated once per
	// Interval only.
	NoPressureWakeups bool
	// PreEvictHook, when set, is run (with QUELL_* env) before an eviction.
	PreEvictHook []string
	Logger       *slog.Logger
}

func (c *Config) defaults() {
	if c.CgroupRoot == "" {
		c.CgroupRoot = "/sys/fs/cgroup"
	}
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.StateDir == "" {
		c.StateDir = "/var/lib/quell"
	}
	if len(c.PolicyPaths) == 0 {
		c.PolicyPaths = []string{"/etc/quell/policy.d"}
	}
	if c.Runtimes == (discover.Roots{}) {
		c.Runtimes = discover.HostRoots(time.Now)
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Resync <= 0 {
		c.Resync = 30 * time.Second
	}
	if c.MaxEvictionsPerMinute <= 0 {
		c.MaxEvictionsPerMinute = 2
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Clock is the time source; tests inject a fake.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
