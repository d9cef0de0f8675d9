package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// quelld logs names and cgroups a container's creator chose as attribute
// values: the text (logfmt) and JSON handlers quote them, so a newline or
// an escape in a name cannot forge a log line or reach a terminal raw.
func TestLogLinesCannotBeForgedByNames(t *testing.T) {
	t.Parallel()
	hostile := "x\nlevel=ERROR msg=\"forged\"\x1b]0;pwned\x07\xff"
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Warn("apply network shaping", "cgroup", hostile, "err", hostile)
		out := b.String()
		if strings.Count(out, "\n") != 1 || strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s handler: %q", name, out)
		}
	}
}
