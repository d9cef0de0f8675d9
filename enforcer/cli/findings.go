package cli

import (
	"errors"
	"fmt"

	"github.com/quell-dev/quell/internal/safetext"
	"github.com/quell-dev/quell/policies"
)

// finding is one problem in a checked file, as `quell policy check --json`
// and `quell config check --json` print them: a JSON array of these, empty
// when the files are valid. Line and column are 1-based, 0 when the problem
// is about the file as a whole (it could not be read); key is "" for TOML
// syntax errors.
type finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Key     string `json:"key"`
	Message string `json:"message"`
}

// problems turns what a check returned into its list; err that is not a
// policies.Errors becomes one problem about the file as a whole.
func problems(file string, err error) policies.Errors {
	if err == nil {
		return nil
	}
	var pe policies.Errors
	if errors.As(err, &pe) {
		return pe
	}
	return policies.Errors{{File: file, Msg: err.Error()}}
}

func findings(es policies.Errors) []finding {
	out := make([]finding, 0, len(es)) // [] rather than null when valid
	for _, e := range es {
		msg := e.Msg
		if e.Owner != "" {
			msg = e.Owner + ": " + msg
		}
		out = append(out, finding{File: e.File, Line: e.Line, Column: e.Col, Key: e.Key, Message: msg})
	}
	return out
}

// checkStatus is the exit status of a check that found es: 0 none, 3 when
// a file could not be read (the verdict is unknown, whatever else was
// found), else 1.
func checkStatus(es policies.Errors) int {
	switch {
	case len(es) == 0:
		return ExitOK
	case es.Unreadable():
		return ExitUnreadable
	}
	return ExitFailure
}

// printProblems writes each problem as file:line:col: message on stdout,
// escaped (they quote names and values from the files), and a summary on
// stderr ending with what follows for quelld.
func (e *env) printProblems(cmd string, es policies.Errors, consequence string) {
	unreadable := 0
	for _, p := range es {
		fmt.Fprintln(e.stdout, safetext.Escape(p.Error(), maxErrorLine))
		if p.Err != nil {
			unreadable++
		}
	}
	n := fmt.Sprintf("%d problems", len(es))
	if len(es) == 1 {
		n = "1 problem"
	}
	if unreadable > 0 {
		n += fmt.Sprintf(" (%d unreadable)", unreadable)
	}
	fmt.Fprintf(e.stderr, "quell %s: %s; %s\n", cmd, n, consequence)
}
