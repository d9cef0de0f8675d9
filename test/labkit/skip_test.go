package labkit

import (
	"os"
	"testing"
)

// skipUnlessCI skips a test that needs something this machine lacks, except
// under CI (CI set): there make test has installed every prerequisite and
// runs as root, so a missing one is a failure, never a silent skip.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: "+format, args...)
	}
	t.Skipf(format, args...)
}
