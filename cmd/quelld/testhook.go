//go:build lab

// The lab's test hook. Only a quelld built with -tags lab (what the lab
// ships; see the Makefile) has it: a release build gets release.go.

package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/quell-dev/quell/enforcer"
)

// hangEnv is a test hook, for the lab's watchdog test only: with
// QUELL_TEST_HANG_AFTER=5s quelld's loop hangs for good in the middle of
// the first tick that starts 5 s after quelld did (inside the reconcile
// hook, holding the loop lock), the way a wedged D-Bus call or cgroupfs
// write would hang it. The watchdog must then stop being fed and systemd
// must kill and restart quelld. Unset it does nothing, and a release
// build (no lab tag) does not have it. It is wired through
// Hooks.OnReconcile, so the enforcer carries no test-only code.
const hangEnv = "QUELL_TEST_HANG_AFTER"

// installTestHooks wires hangEnv into hooks.OnReconcile when it is set; a
// malformed value is an error (quelld then refuses to start).
func installTestHooks(log *slog.Logger, hooks *enforcer.Hooks) error {
	hang, err := hangAfter(os.Getenv)
	if err != nil || hang == 0 {
		return err
	}
	log.Warn("test hook: the loop will hang; never set this outside tests", "env", hangEnv, "after", hang)
	hooks.OnReconcile = hangHook(time.Now(), hang, hooks.OnReconcile)
	return nil
}

// hangAfter parses hangEnv: 0 when unset.
func hangAfter(getenv func(string) string) (time.Duration, error) {
	v := getenv(hangEnv)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive Go duration such as 5s", hangEnv, v)
	}
	return d, nil
}

// hangHook wraps next (may be nil) so that, from start+after on, it never
// returns.
func hangHook(start time.Time, after time.Duration, next func(time.Duration)) func(time.Duration) {
	return func(d time.Duration) {
		if next != nil {
			next(d)
		}
		if time.Since(start) >= after {
			fmt.Fprintf(os.Stderr, "%s: the loop hangs now (test hook)\n", hangEnv)
			select {}
		}
	}
}
