// Command quelld is quell's daemon: it watches container cgroups, applies
// each tenant's limits and catches noisy neighbours. This file only wires:
// flags, logger, signals, construction. The loop is package enforcer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/metrics"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/internal/version"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
	"github.com/quell-dev/quell/systemd"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs, flags := enforcer.NewDaemonFlags()
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: quelld [flags]\n\nquelld enforces the tenant policies in /etc/quell/policy.d on this host's container cgroups.\nRun it as the systemd service quelld.service. Example:\n  quelld --policy ./policies/testdata/example --dry-run\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.Version {
		fmt.Println(versionLine(version.Version, version.Commit))
		return 0
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	if flags.LogJSON {
		h = slog.NewJSONHandler(os.Stderr, nil)
	} else if systemd.JournalEnabled() {
		h = systemd.NewJournalHandler(slog.LevelInfo)
	}
	log := slog.New(h)

	dc, err := enforcer.LoadDaemonConfig(flags.Config)
	if err != nil {
		// One line per problem, each with its file:line:col.
		var problems policies.Errors
		if !errors.As(err, &problems) {
			problems = policies.Errors{{File: flags.Config, Msg: err.Error()}}
		}
		for _, p := range problems { // in the message: journalctl shows only that
			log.Error("daemon config: " + p.Error())
		}
		log.Error("refusing to start: fix the daemon config ('quell config check " + flags.Config + "' lists the same problems)")
		return 1
	}
	flags.Apply(&dc)
	if flags.CheckHost {
		return runCheckHost(dc.CgroupRoot)
	}
	if dc.LockMemory {
		lockMemory(log)
	}
	cfg := dc.Config()
	cfg.Logger = log
	self, err := limits.SelfCgroup(dc.ProcRoot)
	if err != nil {
		log.Error("cannot find quelld's own cgroup; refusing to run without knowing what to protect", "err", err)
		return 1
	}
	cfg.SelfCgroup = self

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { // a second SIGTERM exits at once
		<-ctx.Done()
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
		log.Error("second signal: exiting now")
		os.Exit(1)
	}()

	var loopMetrics *metrics.Loop
	var opts []enforcer.Option
	var hooks enforcer.Hooks
	if dc.MetricsAddr != "off" {
		if err := metrics.CheckWebConfig(dc.MetricsWebConfig); err != nil {
			log.Error("refusing to start", "err", err)
			return 1
		}
		loopMetrics = metrics.NewLoop()
		hooks = enforcer.Hooks{
			OnEvent:     func(ev view.Event) { loopMetrics.Action(ev.Rule, ev.Kind, ev.DryRun) },
			OnReconcile: func(d time.Duration) { loopMetrics.ReconcileSeconds.Observe(d.Seconds()) },
		}
	}
	if err := installTestHooks(log, &hooks); err != nil { // a no-op unless built with -tags lab
		log.Error("test hook", "err", err)
		return 2
	}
	opts = append(opts, enforcer.WithHooks(hooks))
	useSystemd := dc.UseSystemd == "yes" || dc.UseSystemd == "auto" && systemd.Running("/")
	if useSystemd {
		m, err := systemd.Connect(ctx)
		if err != nil {
			log.Warn("systemd D-Bus unreachable; systemd-owned units are changed through cgroupfs (a daemon-reload may revert them)", "err", err)
		} else {
			defer m.Close()
			opts = append(opts, enforcer.SystemdUnits(m))
		}
	}
	if flags.RestoreAll {
		return runRestoreAll(ctx, log, dc.Socket, cfg, opts)
	}
	// On a v1 or hybrid host the walk would take v1 hierarchies' dirs for
	// containers and every write would fail (or "succeed" on a tmpfs).
	// Controllers offered but not enabled are enabled, as systemd does.
	if err := (limits.HostCgroup{}).CheckCgroup2(cfg.CgroupRoot, !cfg.DryRun); err != nil {
		log.Error("refusing to start: " + err.Error())
		return 1
	}
	e, err := enforcer.New(cfg, opts...)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	var reg *prometheus.Registry
	if loopMetrics != nil {
		reg, err = metrics.NewRegistry(e.View, loopMetrics, dc.MetricsMaxContainers)
		if err != nil {
			log.Error("metrics", "err", err)
			return 1
		}
	}
	notifier, err := systemd.NewNotifier(systemd.WithErrorHandler(func(err error) { log.Warn("watchdog ping", "err", err) }))
	if err != nil {
		log.Error("systemd notify", "err", err)
		return 1
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			_ = notifier.Reloading()
			if err := e.Reload(ctx); err != nil {
				log.Error("reload rejected; last good policy stays in force", "err", err)
			}
			_ = notifier.Ready()
		}
	}()
	go func() { _ = e.WatchCgroups(ctx) }()
	go func() { _ = e.WatchPolicy(ctx, 300*time.Millisecond) }()

	l, err := api.Listen(dc.Socket, dc.SocketGroup)
	if err != nil {
		log.Error("API socket", "err", err)
		return 1
	}
	srv := api.NewServer(e, api.Options{Version: version.Version, Logger: log,
		Authorizer: api.NewAuthorizer(dc.SocketGroup, dc.ProcRoot)})
	go func() {
		if err := srv.Serve(ctx, l); err != nil {
			log.Error("API server", "err", err)
		}
	}()
	if reg != nil {
		go func() {
			ms := metrics.Server{Addr: dc.MetricsAddr, WebConfig: dc.MetricsWebConfig, Logger: log.With("component", "metrics")}
			if err := ms.Serve(ctx, reg); err != nil {
				log.Error("metrics server", "addr", dc.MetricsAddr, "err", err)
			}
		}()
	}
	go func() { _ = notifier.RunWatchdog(ctx, e.Healthy) }()
	go func() {
		select {
		case <-e.Ticked():
		case <-ctx.Done():
			return
		}
		_ = notifier.Ready()
		v := e.View()
		_ = notifier.Status(fmt.Sprintf("%d containers watched; policy %s", v.Loop.Watched, v.Policy.Summary))
		log.Info("quelld ready", "version", version.Version, "commit", version.Commit, "watched", v.Loop.Watched, "policy", v.Policy.Summary, "dry_run", cfg.DryRun)
	}()
	err = e.Run(ctx)
	_ = notifier.Stopping()
	if err != nil {
		log.Error("loop", "err", err)
		return 1
	}
	log.Info("quelld stopped")
	return 0
}

// versionLine is what --version prints: "quelld VERSION (commit COMMIT)",
// without the parenthesis when the build was not stamped.
func versionLine(v, commit string) string {
	if commit == "" {
		return "quelld " + v
	}
	return "quelld " + v + " (commit " + commit + ")"
}
