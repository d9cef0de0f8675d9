// Command quell is the operator's view of quelld: live usage per tenant,
// explanations of every decision, events, plans and policy checks. All logic
// lives in package enforcer/cli; this file only wires it.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/cli"
	"github.com/quell-dev/quell/internal/version"
	"github.com/quell-dev/quell/limits"
)

// localSource is the read-only fallback used when quelld cannot be reached:
// the enforcer in read-only mode over the daemon's own config (cgroupfs,
// runtime state, policy dir), observing again on each view.
func localSource(ctx context.Context) (api.Source, error) {
	dc, err := enforcer.LoadDaemonConfig(configPath())
	if err != nil {
		return nil, err
	}
	cfg := dc.Config()
	cfg.Logger = slog.New(slog.DiscardHandler)
	// The same check quelld starts with, read-only: on a v1 or hybrid host
	// there is no cgroup v2 tree to show.
	if err := (limits.HostCgroup{}).CheckCgroup2(cfg.CgroupRoot, false); err != nil {
		return nil, err
	}
	return enforcer.NewLocal(ctx, cfg, 500*time.Millisecond)
}

func configPath() string {
	if p := os.Getenv("QUELL_CONFIG"); p != "" {
		return p
	}
	return enforcer.DefaultDaemonConfigPath
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, cli.Options{
		Version:    version.Version,
		Commit:     version.Commit,
		Local:      localSource,
		ConfigPath: configPath(),
	}))
}
