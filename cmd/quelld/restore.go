package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/quell-dev/quell/enforcer"
)

// runRestoreAll is `quelld --restore-all`: refuse while a quelld answers on
// the socket (it would re-apply everything at its next tick and both would
// write the state file), else restore everything and exit 0, or 1 with
// what could not be restored (kept in the state dir for another try).
func runRestoreAll(ctx context.Context, log *slog.Logger, socket string, cfg enforcer.Config, opts []enforcer.Option) int {
	if c, err := net.DialTimeout("unix", socket, time.Second); err == nil {
		c.Close()
		log.Error("quelld is running (its socket answers): stop it first (systemctl stop quelld), then run quelld --restore-all", "socket", socket)
		return 1
	}
	e, err := enforcer.New(cfg, opts...)
	if err != nil {
		log.Error("restore all", "err", err)
		return 1
	}
	if err := e.RestoreAll(ctx); err != nil {
		log.Error("restore all: some originals could not be put back; they stay in the state dir, run again to retry", "err", err)
		return 1
	}
	log.Info("restore all: every original quell kept is back, nothing is frozen or throttled", "state_dir", cfg.StateDir)
	return 0
}
