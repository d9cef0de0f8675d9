package cli

import (
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
			"would, listing every problem as file:line:col. It needs neither quelld nor root.\n" +
			"Warnings (a guaranteed tenant that a container joins by name or label alone; a\n" +
			"Kubernetes key matched under labels rather than trusted_labels) are printed but do not\n" +
			"fail the check.\n\n" +
			"With --json, stdout is a JSON array of {file, line, column, key, message}, one per\n" +
			"problem, empty when valid (line and column 0: about the file as a whole); warnings go\n" +
			"to stderr.\n\n" + checkExitStatus,
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

func checkPolicy(e *env, paths []string, portable bool) (int, error) {
	var opts policies.Options
	if !portable {
		opts = policies.Options{HostCPUs: runtime.NumCPU(), DeviceExists: blockDevice}
	}
	pol, err := policies.Load(paths, opts)
	es := problems(strings.Join(paths, " "), err)
	var warnings []string
	if pol != nil {
		for _, w := range pol.Warnings() {
			warnings = append(warnings, "warning: "+safetext.Escape(w.Error(), maxErrorLine))
		}
	}
	switch {
	case e.g.json:
		// stdout is the array of problems alone; warnings, which do not
		// fail the check, go to stderr.
		for _, w := range warnings {
			fmt.Fprintln(e.stderr, w)
		}
		if err := e.printJSON(findings(es)); err != nil {
			return 0, err
		}
	case len(es) == 0:
		for _, w := range warnings {
			fmt.Fprintln(e.stdout, w)
		}
		fmt.Fprintf(e.stdout, "%s: ok: %s\n", safetext.Line(strings.Join(paths, " ")), safetext.Line(pol.Summary()))
	default:
		e.printProblems("policy check", es, "quelld would keep its last good policy")
	}
	return checkStatus(es), nil
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
