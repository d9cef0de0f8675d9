//go:build lab

// Package systemd_test checks quell's systemd package against a real
// systemd (PID 1, D-Bus, cgroup v2) inside the lab VM's systemd mode:
// unit properties set through D-Bus land in cgroupfs and survive
// `systemctl daemon-reload`, tenant slices are created, sd_notify readiness
// and the watchdog behave as systemd sees them, and quelld.service's
// hardening still lets the daemon write what it must.
//
// Build with `go test -c -tags lab ./test/systemd` and run inside the lab:
// `bin/lab run --mode systemd -- 'systemd.test -test.v'`. On a host without
// systemd as PID 1 every test fails; none skips.
package systemd_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/quell-dev/quell/systemd"
)

// helperEnv selects a helper mode when the test binary is re-executed as a
// systemd service (see helper_test.go).
const helperEnv = "QUELL_SYSTEMD_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(openFilesEnv) != "" { // copied into a container (ulimits_test.go)
		os.Exit(openFiles())
	}
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	if !systemd.Running("/") {
		fmt.Fprintln(os.Stderr, "systemd is not PID 1 here (no /run/systemd/system): run these tests in the lab, --mode systemd")
		os.Exit(1)
	}
	os.Exit(m.Run())
}
