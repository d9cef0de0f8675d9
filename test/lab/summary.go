package main

import (
	"bufio"
	"io"
	"regexp"
	"sort"
	"strings"
)

// testCounts summarises "go test -v" output.
type testCounts struct {
	Passed, Failed, Skipped int
	Failures                []string
}

var (
	resultLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+)`)
	runLine    = regexp.MustCompile(`^=== RUN\s+(\S+)`)
)

// countTests counts leaf tests: a test with subtests counts through its
// subtests only, so one failing subtest is one failure, not two. A test
// that started (=== RUN) but never reported (a panic, a timeout) is a failure.
func countTests(r io.Reader) testCounts {
	results := map[string]string{}
	started := map[string]bool{}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for s.Scan() {
		line := s.Text()
		if m := runLine.FindStringSubmatch(line); m != nil {
			started[m[1]] = true
		} else if m := resultLine.FindStringSubmatch(line); m != nil {
			results[m[2]] = m[1]
		}
	}
	for name := range started {
		if _, ok := results[name]; !ok {
			results[name] = "FAIL"
		}
	}
	var c testCounts
	for name, res := range results {
		if hasChild(results, name) {
			continue
		}
		switch res {
		case "PASS":
			c.Passed++
		case "SKIP":
			c.Skipped++
			c.Failures = append(c.Failures, name+" (skipped)")
		default:
			c.Failed++
			c.Failures = append(c.Failures, name)
		}
	}
	sort.Strings(c.Failures)
	return c
}

func hasChild(results map[string]string, name string) bool {
	for other := range results {
		if strings.HasPrefix(other, name+"/") {
			return true
		}
	}
	return false
}
