package enforcer

import (
	"context"

	"github.com/quell-dev/quell/limits"
)

// cgroupFS is the part of limits.FS the enforcer uses.
type cgroupFS interface {
	Read(cg, file string) (string, error)
	Current(cg string, ws []limits.Write) ([]limits.Write, error)
	Diff(current, desired []limits.Write) []limits.Change
	Apply(ctx context.Context, cg string, ws []limits.Write) ([]limits.Result, error)
	ApplyChanges(ctx context.Context, cg string, cs []limits.Change) ([]limits.Result, error)
	Restore(ctx context.Context, cg string, originals []limits.Write) error
	StatsOf(cg string, only map[string]bool) (limits.Stats, error)
	Freeze(ctx context.Context, cg string) error
	Thaw(ctx context.Context, cg string) error
	Kill(cg string) error
	Procs(cg string) ([]int, error)
	Mkdir(cg string, controllers ...string) error
}

var _ cgroupFS = (*limits.FS)(nil)

// unitSetter changes systemd-owned units through systemd so that a
// `systemctl daemon-reload` does not revert quell's limits. nil when
// systemd is not running.
type unitSetter interface {
	// SetUnit applies r to the unit owning cgroup cg. ok is false when cg
	// is not a systemd unit (then cgroupfs is used).
	SetUnit(ctx context.Context, cg string, r limits.Resources) (ok bool, err error)
	// EnsureSlice creates (or updates) the tenant slice cg as a systemd
	// slice unit carrying r, so systemd knows it and keeps it.
	EnsureSlice(ctx context.Context, cg string, r limits.Resources) error
}
