package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"acme-web", "acme-web"},
		{"café ünïcode 日本", "café ünïcode 日本"},
		{"a b", "a b"},
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"\x1b[2J", `\x1b[2J`},
		{"line1\nline2\r\tx", `line1\nline2\r\tx`},
		{"\x00\x7f", `\x00\x7f`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"\u009b31m", `\u009b31m`},                 // C1 CSI
		{"evil\u202etxt.exe", `evil\u202etxt.exe`}, // bidi override
		{"\u2066x\u2069", `\u2066x\u2069`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"sep\u2028x", `sep\u2028x`},
		{"nb\u00a0sp", `nb\u00a0sp`},
		{`system-foo\x2dbar.slice`, `system-foo\x2dbar.slice`},
		{"tag\U000E0041", `tag\U000e0041`},
	} {
		if got := Escape(tc.in, 0); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Escape(tc.in, 0); !Clean(got) {
			t.Errorf("Escape(%q) = %q is not clean", tc.in, got)
		}
	}
}

func TestEscapeCaps(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1<<20)
	got := Escape(big, 256)
	if n := utf8.RuneCountInString(got); n != 256 || !strings.HasSuffix(got, Ellipsis) {
		t.Fatalf("1 MiB field: %d runes, suffix %q; want 256 ending in …", n, got[len(got)-8:])
	}
	if got := Escape("abcd", 4); got != "abcd" {
		t.Errorf("exact fit cut: %q", got)
	}
	if got := Escape("abcde", 4); got != "abc…" {
		t.Errorf("over by one: %q", got)
	}
	// An escape is never cut in half.
	if got := Escape("ab\x1bcd", 5); got != "ab…" {
		t.Errorf("escape cut: %q", got)
	}
	hostile := strings.Repeat("\x1b[2J\n\xff", 1000)
	got = Escape(hostile, 100)
	if utf8.RuneCountInString(got) > 100 || !Clean(got) || strings.ContainsAny(got, "\x1b\n") {
		t.Errorf("hostile capped: %q", got)
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	if got := Lines("a\x1b\nb", 0); got != "a\\x1b\nb" {
		t.Errorf("Lines = %q", got)
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("\x1b]0;x\x07\n\xff", 10)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max % 1000
		got := Escape(s, max)
		if !Clean(got) || !utf8.ValidString(got) {
			t.Fatalf("Escape(%q, %d) = %q not clean", s, max, got)
		}
		if max > 0 && utf8.RuneCountInString(got) > max {
			t.Fatalf("Escape(%q, %d) = %q longer than max", s, max, got)
		}
	})
}
