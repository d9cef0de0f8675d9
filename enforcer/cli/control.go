package cli

import (
	"errors"
	"fmt"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
)

func releaseCmd() *command {
	return &command{
		name:    "release",
		args:    "ID",
		summary: "Lift the throttle or freeze on a container now (root)",
		detail: "The penalty ends at once instead of at its deadline. Rules may penalise the\n" +
			"container again if it keeps exhausting the host.",
		examples: []string{"sudo quell release 3f2a1b4c5d6e"},
		run: func(e *env, args []string) (int, error) {
			if len(args) != 1 {
				return 0, usagef("want one container ID, got %d arguments", len(args))
			}
			svc, err := e.writer("release")
			if err != nil {
				return 0, err
			}
			if err := svc.Release(e.ctx, args[0]); err != nil {
				if errors.Is(err, view.ErrNotFound) {
					return 0, fmt.Errorf("%v; 'quell status' lists the active penalties", err)
				}
				return 0, err
			}
			return ExitOK, e.done(map[string]string{"result": "released", "id": args[0]},
				fmt.Sprintf("released %s", args[0]))
		},
	}
}

func reloadCmd() *command {
	return &command{
		name:     "reload",
		summary:  "Make quelld re-read its policy now (root)",
		detail:   "An invalid policy is refused with every problem listed; quelld keeps the last\ngood one. 'systemctl reload quelld' does the same.",
		examples: []string{"sudo quell reload"},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			svc, err := e.writer("reload")
			if err != nil {
				return 0, err
			}
			if err := svc.Reload(e.ctx); err != nil {
				return 0, fmt.Errorf("policy not reloaded; quelld keeps the last good policy:\n%v", err)
			}
			return ExitOK, e.done(map[string]string{"result": "reloaded"}, "policy reloaded")
		},
	}
}

// done reports a successful change.
func (e *env) done(js any, human string) error {
	if e.g.json {
		return e.printJSON(js)
	}
	_, err := fmt.Fprintln(e.stdout, human)
	return err
}

func versionCmd() *command {
	return &command{
		name:    "version",
		summary: "Print the version and commit of quell, and the version of the running quelld",
		detail: "The version is 'git describe' of the tree quell was built from (\"dev\" for a build\n" +
			"without the Makefile's -ldflags); commit is the full git commit. --json prints\n" +
			"{\"quell\", \"commit\", \"quelld\"}; quelld is \"not reachable\" when no quelld answers.",
		examples: []string{"quell version", "quell version --json"},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			out := map[string]string{"quell": orDash(e.opts.Version), "commit": e.opts.Commit}
			daemon, err := api.NewClient(e.g.socket).Version(e.ctx)
			if err != nil {
				out["quelld"] = "not reachable"
			} else {
				out["quelld"] = orDash(daemon)
			}
			if e.g.json {
				return ExitOK, e.printJSON(out)
			}
			commit := ""
			if e.opts.Commit != "" {
				commit = " (commit " + e.opts.Commit + ")"
			}
			_, err = fmt.Fprintf(e.stdout, "quell  %s%s\nquelld %s\n", out["quell"], commit, out["quelld"])
			return ExitOK, err
		},
	}
}
