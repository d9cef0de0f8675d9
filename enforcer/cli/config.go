package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/internal/safetext"
	"github.com/quell-dev/quell/policies"
)

// checkExitStatus is the exit status paragraph of both checks' help.
const checkExitStatus = "Exit status: 0 valid, 1 problems found, 2 usage error, 3 a file could not be read\n" +
	"(missing, permission denied: whether it is valid is unknown; 3 wins over 1)."

func configCmd() *command {
	return &command{
		name:    "config",
		args:    "check [FILE]",
		summary: "Check quelld's config file (quelld.toml)",
		detail: "'quell config check' validates FILE (default " + enforcer.DefaultDaemonConfigPath + ", or $QUELL_CONFIG)\n" +
			"with the validator quelld starts with: every key's type and range, and unknown keys\n" +
			"(a typo is an error, not a silent default), each problem as file:line:col. It needs\n" +
			"neither quelld nor root. A missing file is reported as unreadable, though quelld would\n" +
			"start on the defaults without it.\n\n" +
			"With --json, stdout is a JSON array of {file, line, column, key, message}, one per\n" +
			"problem, empty when valid.\n\n" + checkExitStatus,
		examples: []string{"quell config check", "quell config check ./quelld.toml", "quell config check --json /srv/ansible/files/quelld.toml"},
		run: func(e *env, args []string) (int, error) {
			if len(args) == 0 || args[0] != "check" || len(args) > 2 {
				return 0, usagef("want 'quell config check [FILE]'")
			}
			file := e.opts.ConfigPath
			if len(args) == 2 {
				file = args[1]
			}
			return checkConfig(e, file)
		},
	}
}

func checkConfig(e *env, file string) (int, error) {
	var es policies.Errors
	var set []string
	data, err := os.ReadFile(file)
	if err != nil {
		msg := "cannot read: " + err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = "cannot read: " + pe.Err.Error()
		}
		if errors.Is(err, fs.ErrNotExist) {
			msg += " (quelld would start with the defaults)"
		}
		es = policies.Errors{{File: file, Msg: msg, Err: err}}
	} else {
		_, err = enforcer.ParseDaemonConfig(file, data)
		es = problems(file, err)
		if len(es) == 0 {
			set = enforcer.DaemonConfigKeysSet(data)
		}
	}
	switch {
	case e.g.json:
		if err := e.printJSON(findings(es)); err != nil {
			return 0, err
		}
	case len(es) == 0:
		summary := "every key at its default"
		if len(set) > 0 {
			summary = fmt.Sprintf("%d set (%s), the rest at their defaults", len(set), strings.Join(set, ", "))
		}
		fmt.Fprintf(e.stdout, "%s: ok: %s\n", safetext.Line(file), summary)
	default:
		consequence := "quelld would not start with this file"
		if es.Unreadable() {
			consequence = "nothing was checked"
		}
		e.printProblems("config check", es, consequence)
	}
	return checkStatus(es), nil
}
