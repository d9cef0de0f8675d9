package main

import (
	"io"
	"strings"
	"testing"
)

func TestPrereqsRefusesWhatIsNotAPackageName(t *testing.T) {
	for _, bad := range []string{"-y", "--purge", "Systemd-oomd", "a", "pkg;rm", "x y", ""} {
		err := prereqs(io.Discard, "systemd-oomd", bad)
		if err == nil || !strings.Contains(err.Error(), "not a Debian package name") {
			t.Errorf("prereqs(%q): err = %v, want a refusal naming it", bad, err)
		}
	}
	for _, good := range []string{"systemd-oomd", "libstdc++6", "g++", "python3.11"} {
		if !debianName.MatchString(good) {
			t.Errorf("%q refused, but it is a Debian package name", good)
		}
	}
}
