package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// suite is one test binary and the mode it boots in.
type suite struct {
	Mode   string
	Binary string // file name in the bin dir
}

// labSuites are booted once each, in this order. The systemd suite runs
// only when its binary was built.
var labSuites = []suite{{modeFast, "kernel.test"}, {modeSystemd, "systemd.test"}}

// labTest runs every present suite in its own guest and prints the summary
// line. It returns an error when any test failed or skipped, when no test
// ran, or when a guest failed.
func labTest(ctx context.Context, o runOptions, run string) error {
	total := testCounts{}
	var parts, problems []string
	for _, s := range labSuites {
		if _, err := os.Stat(filepath.Join(o.BinDir, s.Binary)); err != nil {
			if s.Mode == modeFast {
				return fmt.Errorf("%s missing from %s (run make build)", s.Binary, o.BinDir)
			}
			parts = append(parts, s.Mode+": not built")
			continue
		}
		cmdline := "cd /tmp && " + s.Binary + " -test.v -test.timeout=" + o.Timeout.String()
		if run != "" {
			cmdline += " -test.run '" + strings.ReplaceAll(run, "'", `'\''`) + "'"
		}
		var buf bytes.Buffer
		so := o
		so.Mode, so.Command = s.Mode, cmdline
		so.Stdout = io.MultiWriter(o.Stdout, &buf)
		so.Timeout = o.Timeout + guestBootAllowance
		code, err := runLab(ctx, so)
		c := countTests(&buf)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s guest: %v", s.Mode, err))
		case code != 0 && c.Failed == 0:
			problems = append(problems, fmt.Sprintf("%s: %s exited %d with no failing test reported", s.Mode, s.Binary, code))
		}
		total.Passed += c.Passed
		total.Failed += c.Failed
		total.Skipped += c.Skipped
		for _, f := range c.Failures {
			problems = append(problems, s.Mode+": "+f)
		}
		parts = append(parts, fmt.Sprintf("%s: %d passed, %d failed", s.Mode, c.Passed, c.Failed))
	}
	line := fmt.Sprintf("real-kernel tests: %d passed, %d failed (%s)", total.Passed, total.Failed, strings.Join(parts, "; "))
	if total.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped (real-kernel tests must not skip)", total.Skipped)
	}
	fmt.Fprintln(o.Stdout, line)
	if total.Passed == 0 {
		problems = append(problems, "no real-kernel test passed")
	}
	if total.Failed > 0 || total.Skipped > 0 || len(problems) > 0 {
		return fmt.Errorf("real-kernel tests failed:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
