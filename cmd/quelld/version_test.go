package main

import "testing"

func TestVersionLine(t *testing.T) {
	t.Parallel()
	if got := versionLine("dev", ""); got != "quelld dev" {
		t.Errorf("unstamped: %q", got)
	}
	if got := versionLine("v1.2.0-3-g0123abc", "0123abc4567890"); got != "quelld v1.2.0-3-g0123abc (commit 0123abc4567890)" {
		t.Errorf("stamped: %q", got)
	}
}
