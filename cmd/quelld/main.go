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
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/metrics"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
	"github.com/quell-dev/quell/systemd"
)

var version = "dev"

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("quelld", flag.ContinueOnError)
	configPath := fs.String("config", "/etc/quell/quelld.toml", "daemon config `file`")
	policyDir := fs.String("policy", "", "policy `dir or file` (overrides policy_dirs; comma-separated)")
	dryRun := fs.Bool("dry-run", false, "decide and record, write nothing")
	stateDir := fs.String("state-dir", "", "state `dir` (overrides state_dir)")
	socket := fs.String("socket", "", "API socket `path` (overrides socket)")
	metricsAddr := fs.String("metrics", "", "metrics `addr` (overrides metrics_addr; \"off\" disables)")
	logJSON := fs.Bool("log-json", false, "log JSON instead of logfmt")
	showVersion := fs.Bool("version", false, "print the version and exit")
	cgroupRoot := fs.String("cgroup-root", "", "cgroup2 mount `dir` (overrides cgroup_root)")
	checkHost := fs.Bool("check-host", false, "check that the cgroup root is a cgroup v2 hierarchy with the controllers quell needs, print what to fix, and exit (make install runs it)")
	restoreAll := fs.Bool("restore-all", false, "with quelld stopped: put back every original value kept in the state dir, thaw what quell froze, drop penalties, and exit (for an uninstall)")
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
	if *showVersion {
		fmt.Println("quelld", version)
		return 0
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	if *logJSON {
		h = slog.NewJSONHandler(os.Stderr, nil)
	} else if systemd.JournalEnabled() {
		h = systemd.NewJournalHandler(slog.LevelInfo)
	}
	log := slog.New(h)

	dc, err := enforcer.LoadDaemonConfig(*configPath)
	if err != nil {
		// One line per problem, each with its file:line:col.
		var problems policies.Errors
		if !errors.As(err, &problems) {
			problems = policies.Errors{{File: *configPath, Msg: err.Error()}}
		}
		for _, p := range problems { // in the message: journalctl shows only that
			log.Error("daemon config: " + p.Error())
		}
		log.Error("refusing to start: fix the daemon config ('quell config check " + *configPath + "' lists the same problems)")
		return 1
	}
	if *policyDir != "" {
		dc.PolicyDirs = strings.Split(*policyDir, ",")
	}
	if *stateDir != "" {
		dc.StateDir = *stateDir
	}
	if *socket != "" {
		dc.Socket = *socket
	}
	if *metricsAddr != "" {
		dc.MetricsAddr = *metricsAddr
	}
	if *cgroupRoot != "" {
		dc.CgroupRoot = *cgroupRoot
	}
	if *checkHost {
		return runCheckHost(dc.CgroupRoot)
	}
	dc.DryRun = dc.DryRun || *dryRun
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
	if *restoreAll {
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
	srv := api.NewServer(e, api.Options{Version: version, Logger: log,
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
		log.Info("quelld ready", "version", version, "watched", v.Loop.Watched, "policy", v.Policy.Summary, "dry_run", cfg.DryRun)
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
