package benchmarks

import (
	"strings"
	"testing"
)

func TestParseStatProcessor(t *testing.T) {
	t.Parallel()
	// A real /proc/PID/stat line of a busy child (processor 1), and the
	// same with a command name holding spaces and parentheses.
	tail := " R 1 210 210 0 -1 4194304 91 0 0 0 812 3 0 0 20 0 1 0 1234 729088 245 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	for _, tc := range []struct {
		name, in string
		want     int
		bad      string
	}{
		{"plain", "213 (quell-bench)" + tail, 1, ""},
		{"odd comm", "213 (a) b (c) d)" + tail, 1, ""},
		{"cpu 0", "7 (x)" + strings.Replace(tail, " 17 1 ", " 17 0 ", 1), 0, ""},
		{"no paren", "213 quell-bench R 1", 0, "no ')'"},
		{"short", "213 (x) R 1 2 3", 0, "fields after"},
		{"garbage cpu", "7 (x)" + strings.Replace(tail, " 17 1 ", " 17 z ", 1), 0, "not a CPU"},
		{"empty", "", 0, "no ')'"},
	} {
		got, err := parseStatProcessor([]byte(tc.in))
		switch {
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%s: err %v, want one saying %q", tc.name, err, tc.bad)
		case tc.bad == "" && (err != nil || got != tc.want):
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}
