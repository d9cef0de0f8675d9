package policies

import (
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// Error is one problem in a policy file. quelld's own config file
// (enforcer.ParseDaemonConfig) reports its problems with it too, so that
// every file quell reads is checked and printed the same way.
type Error struct {
	File  string // the file as given to Load or Parse
	Line  int    // 1-based; 0 when the problem is about the file as a whole
	Col   int    // 1-based; 0 when unknown
	Key   string // the key at fault from the top of its table, e.g. "limits.memory_high"; "" for syntax errors
	Owner string // e.g. `tenant "acme"`, `rule #2`; "" at the top level of the file
	Msg   string // the complete sentence, including the key
	// Err is the I/O error when the file or directory could not be read at
	// all (missing, permission denied); nil for a problem in what was read.
	Err error
}

// Unwrap returns Err, so that errors.Is(err, fs.ErrNotExist) and the like
// see through a policy error to what the system said.
func (e *Error) Unwrap() error { return e.Err }

// Error formats the problem as "file:line:col: owner: msg", leaving out what is
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Owner != "" {
		b.WriteString(e.Owner)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found, in file order. Load and Parse return it
// (never an empty one) as their error whenever a policy is invalid.
type Errors []*Error

// Error joins the problems one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As access to each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Unreadable reports whether any of the problems is a file or directory that
// could not be read: the policy's validity is then unknown, not refuted.
func (es Errors) Unreadable() bool {
	for _, e := range es {
		if e.Err != nil {
			return true
		}
	}
	return false
}

// syntaxError turns a TOML parse error into an *Error with its position.
func syntaxError(file string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: pe.Position.Line, Col: pe.Position.Col, Msg: "TOML syntax: " + pe.Message}
	}
	return &Error{File: file, Msg: "TOML: " + err.Error()}
}
