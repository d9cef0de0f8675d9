// Package safetext makes text that others control safe to print: names,
// labels, IDs and cgroup names come from whoever creates a container and may
// hold terminal escape sequences, newlines, bidi overrides or invalid UTF-8.
// It owns the escaping rule and length caps shared by the CLI's human output
// and the metrics' label values. It imports nothing of ours and does no I/O.
package safetext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMax is the cap on one printed field, in runes of the escaped text.
const DefaultMax = 256

// Ellipsis ends a field that was cut.
const Ellipsis = "…"

// Escape returns s with every character a terminal could act on written as
// a visible escape: C0 controls (newline as \n, tab as \t, ESC as \x1b,
// …), DEL, C1 controls, Unicode format characters (bidi overrides and
// isolates, zero-width characters), line and paragraph separators, other
// non-printing runes (\u2028, \U000e0001, …) and each byte of invalid
// UTF-8 (\xff). Printable text, including non-ASCII letters and the ASCII
// space, is kept; a backslash is kept as is (systemd's \x2d in unit names
// stays readable), so Escape is for display, not a reversible encoding.
// With max > 0 the result is cut to at most max runes, ending in "…", and
// never inside an escape. Escape of a string that needs nothing is s itself.
func Escape(s string, max int) string {
	if clean(s) && (max <= 0 || utf8.RuneCountInString(s) <= max) {
		return s
	}
	var b strings.Builder
	n, cut := 0, 0 // runes written; bytes of b that leave room for the ellipsis
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size <= 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case printable(r):
			piece = s[i : i+size]
		default:
			piece = escapeRune(r)
		}
		i += size
		b.WriteString(piece)
		n += utf8.RuneCountInString(piece)
		if max > 0 {
			if n <= max-1 {
				cut = b.Len()
			}
			if n > max {
				return b.String()[:cut] + Ellipsis
			}
		}
	}
	return b.String()
}

// Line is Escape with DefaultMax: for a field printed on one line.
func Line(s string) string { return Escape(s, DefaultMax) }

// Lines escapes each line of s (split at "\n") with Escape(line, max) and
// joins them again with "\n": for a multi-line message (an error listing
// problems one per line) whose line breaks are its own.
func Lines(s string, max int) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = Escape(p, max)
	}
	return strings.Join(parts, "\n")
}

// Clean reports whether s is valid UTF-8 without any character Escape
// would rewrite.
func Clean(s string) bool { return clean(s) }

func clean(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || !printable(r) {
			return false
		}
		i += size
	}
	return true
}

// printable: graphic runes and the ASCII space; no other space (NBSP and
// friends are shown escaped so a field cannot hide in blanks).
func printable(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0x20 && r != 0x7f
	}
	return strconv.IsPrint(r)
}

func escapeRune(r rune) string {
	switch r {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	}
	switch {
	case r < 0x80:
		return fmt.Sprintf(`\x%02x`, r)
	case r <= 0xffff:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return fmt.Sprintf(`\U%08x`, r)
}
