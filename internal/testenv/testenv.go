// Package testenv holds what host unit tests across the module share about
// the machine they run on. It imports nothing of ours.
package testenv

import (
	"os"
	"testing"
)

// SkipUnlessCI skips a test that needs something this machine lacks, except
// under CI (CI set): there make test has installed every prerequisite and
// runs as root, so a missing one is a failure, never a silent skip.
func SkipUnlessCI(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: "+format, args...)
	}
	t.Skipf(format, args...)
}
