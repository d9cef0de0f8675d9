//go:build !lab

package main

import (
	"log/slog"

	"github.com/quell-dev/quell/enforcer"
)

// installTestHooks does nothing: the lab's test hook (testhook.go) is only
// in a quelld built with -tags lab.
func installTestHooks(*slog.Logger, *enforcer.Hooks) error { return nil }
