package limits

import (
	"errors"
	"fmt"
)

// ErrSyntax: a cgroup file's content, or a value given to a parser, does
// not have the expected format. Wrapped with the file name and the text.
var ErrSyntax = errors.New("syntax error")

func errSyntax(what, text string) error {
	if len(text) > 80 {
		text = text[:80] + "…"
	}
	return fmt.Errorf("%s: %q: %w", what, text, ErrSyntax)
}
