//go:build lab

package systemd_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/quell-dev/quell/systemd"
)

// runHelper is the test binary started by systemd as a service:
//
//	notify     Ready, Status "helper ready", feed the watchdog, stop on SIGTERM
//	unhealthy  Ready, then a watchdog whose health check always fails
//	quelld     like notify, after proving it can write what quelld writes
//	           (a cgroup, /var/lib/quell, /run/quell); SIGHUP reloads
func runHelper(mode string) int {
	n, err := systemd.NewNotifier()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	healthy := func() bool { return true }
	switch mode {
	case "notify":
	case "unhealthy":
		healthy = func() bool { return false }
	case "quelld":
		if err := probeWrites(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			_ = n.Status("probe failed: " + err.Error())
			return 1
		}
	default:
		fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() { _ = n.RunWatchdog(ctx, healthy) }()

	if err := n.Status("helper ready"); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	if err := n.Ready(); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	for reloads := 1; ; reloads++ {
		select {
		case <-ctx.Done():
			_ = n.Stopping()
			return 0
		case <-hup:
			_ = n.Reloading()
			_ = n.Status(fmt.Sprintf("reloaded %d", reloads))
			_ = n.Ready()
		}
	}
}

// probeWrites does the kinds of writes quelld does under its unit's
// hardening, and leaves marks the test checks.
func probeWrites() error {
	cg := "/sys/fs/cgroup/quell-lab-probe"
	if err := os.Mkdir(cg, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("create cgroup: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cg, "pids.max"), []byte("42"), 0); err != nil {
		return fmt.Errorf("write cgroup limit: %w", err)
	}
	for _, dir := range []string{"/var/lib/quell", "/run/quell"} {
		if err := os.WriteFile(filepath.Join(dir, "probe"), []byte("ok\n"), 0o640); err != nil {
			return fmt.Errorf("write state: %w", err)
		}
	}
	return nil
}
