package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/quell-dev/quell/internal/safetext"
	"github.com/quell-dev/quell/policies"
)

func policyCmd() *command {
	var portable bool
	return &command{
		name:    "policy",
		args:    "check [FILE|DIR...]",
		summary: "Check policy files without applying them",
		detail: "'quell policy check' reads the files (a directory contributes its *.toml files in\n" +
			"lexical order, as quelld reads " + DefaultPolicyDir + ") and validates them as quelld\n" +
			"would. Exit 0 with a one-line summary when valid; exit 1 listing every problem as\n" +
			"file:line:col. It needs neither quelld nor root. Warnings (a guaranteed tenant that a\n" +
			"container joins by name or label alone; a Kubernetes key matched under labels rather than\n" +
			"trusted_labels) are printed but do not fail the check.",
		examples: []string{"quell policy check", "quell policy check ./policy.d/10-acme.toml", "quell policy check --portable --json /srv/ansible/files/quell/"},
		setFlags: func(f *flags) {
			f.boolVar(&portable, "", "portable", "skip the checks against this host (CPU count, io devices): for checking on another machine")
		},
		run: func(e *env, args []string) (int, error) {
			if len(args) == 0 || args[0] != "check" {
				return 0, usagef("want 'quell policy check [FILE|DIR...]'")
			}
			paths := args[1:]
			if len(paths) == 0 {
				paths = []string{e.opts.PolicyDir}
			}
			return checkPolicy(e, paths, portable)
		},
	}
}

// policyResult is the --json answer of `quell policy check`.
type policyResult struct {
	Valid   bool     `json:"valid"`
	Paths   []string `json:"paths"`
	Summary string   `json:"summary,omitempty"`
	Errors  []string `json:"errors,omitempty"`
	// Warnings are valid but unsafe among hostile tenants (see
	// policies.Policy.Warnings); they do not change the exit status.
	Warnings []string `json:"warnings,omitempty"`
}

func checkPolicy(e *env, paths []string, portable bool) (int, error) {
	var opts policies.Options
	if !portable {
		opts = policies.Options{HostCPUs: runtime.NumCPU(), DeviceExists: blockDevice}
	}
	pol, err := policies.Load(paths, opts)
	res := policyResult{Valid: err == nil, Paths: paths}
	if err == nil {
		res.Summary = pol.Summary()
		for _, w := range pol.Warnings() {
			res.Warnings = append(res.Warnings, w.Error())
		}
	} else {
		var pe policies.Errors
		if errors.As(err, &pe) {
			for _, p := range pe {
				res.Errors = append(res.Errors, p.Error())
			}
		} else {
			for _, l := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
				res.Errors = append(res.Errors, l)
			}
		}
	}
	if e.g.json {
		if err := e.printJSON(res); err != nil {
			return 0, err
		}
	} else if res.Valid {
		for _, w := range res.Warnings {
			fmt.Fprintln(e.stdout, "warning: "+safetext.Escape(w, maxErrorLine))
		}
		fmt.Fprintf(e.stdout, "%s: ok: %s\n", safetext.Line(strings.Join(paths, " ")), safetext.Line(res.Summary))
	} else {
		for _, l := range res.Errors { // they quote names and values from the files
			fmt.Fprintln(e.stdout, safetext.Escape(l, maxErrorLine))
		}
		fmt.Fprintf(e.stderr, "quell policy check: %d problems; quelld would keep its last good policy\n", len(res.Errors))
	}
	if !res.Valid {
		return ExitFailure, nil
	}
	return ExitOK, nil
}

// blockDevice returns nil when path is a block device on this host.
func blockDevice(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeDevice == 0 || st.Mode()&fs.ModeCharDevice != 0 {
		return fmt.Errorf("%s is not a block device", path)
	}
	return nil
}
