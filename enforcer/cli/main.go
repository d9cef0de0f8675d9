package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/internal/safetext"
)

// Exit codes.
const (
	ExitOK      = 0 // done; for checks: nothing found
	ExitFailure = 1 // failed, or a check found problems
	ExitUsage   = 2 // the command line is wrong
	// ExitUnreadable: a check (policy check, config check) could not read
	// a file it was given, so it cannot say whether it is valid.
	ExitUnreadable = 3
	defaultLimit   = 50
	// maxErrorLine caps each line of an error message (policy problems
	// quote file names and values).
	maxErrorLine = 1024
)

// DefaultPolicyDir is what `quell policy check` checks without arguments.
const DefaultPolicyDir = "/etc/quell/policy.d"

// Options are what cmd/quell hands to Main.
type Options struct {
	// Version of this quell binary, shown by `quell version`.
	Version string
	// Commit is the git commit quell was built from ("" when unknown).
	Commit string
	// Local returns a Source that reads cgroupfs directly (one discovery and
	// observation pass). Read-only commands use it when quelld cannot be
	// reached. Nil means this build cannot read cgroupfs itself: those
	// commands then fail and say quelld is required.
	Local func(ctx context.Context) (api.Source, error)
	// IsTerminal reports whether w is an interactive terminal, and its width
	// in columns (0 when unknown). Nil means: stdout is a terminal when it is
	// an *os.File on a tty.
	IsTerminal func(w io.Writer) (tty bool, width int)
	// Terminal is what the live `quell top` reads of the terminal (size,
	// keys, resizes); its nil fields take the real one.
	Terminal Terminal
	// PolicyDir replaces DefaultPolicyDir (tests).
	PolicyDir string
	// ConfigPath is what `quell config check` checks without an argument;
	// "" means enforcer.DefaultDaemonConfigPath.
	ConfigPath string
}

// globals are the flags every command takes.
type globals struct {
	socket string
	json   bool
}

func (g *globals) register(f *flags) {
	f.stringVar(&g.socket, "", "socket", "PATH", "quelld's API socket (default "+api.DefaultSocket+")")
	f.boolVar(&g.json, "", "json", "print JSON instead of a table")
}

// env is what a running command gets.
type env struct {
	ctx            context.Context
	stdout, stderr io.Writer
	opts           Options
	g              globals
}

// command is one quell subcommand.
type command struct {
	name     string
	args     string // positional arguments for the usage line, e.g. "ID|CGROUP"
	summary  string // one line for `quell --help`
	detail   string // a paragraph for `quell CMD --help`
	examples []string
	setFlags func(f *flags)
	// run does the work; a *usageError return means exit 2, other errors
	// exit 1 after being printed; run may also return its own code.
	run func(e *env, args []string) (int, error)
}

func commands() []*command {
	return []*command{
		statusCmd(), topCmd(), tenantsCmd(), containersCmd(), explainCmd(), eventsCmd(),
		planCmd(), policyCmd(), configCmd(), releaseCmd(), reloadCmd(), versionCmd(),
	}
}

// Main runs quell with args (without the program name) and returns the exit
// code: 0 ok, 1 failure or findings, 2 usage error, 3 a file to check could
// not be read.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, opts Options) int {
	if opts.PolicyDir == "" {
		opts.PolicyDir = DefaultPolicyDir
	}
	if opts.IsTerminal == nil {
		opts.IsTerminal = isTerminal
	}
	if opts.ConfigPath == "" {
		opts.ConfigPath = enforcer.DefaultDaemonConfigPath
	}
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, opts: opts, g: globals{socket: api.DefaultSocket}}
	cmds := commands()

	top := newFlags("quell")
	e.g.register(top)
	var version bool
	top.boolVar(&version, "", "version", "print the version and exit")
	// Global flags may come before the command: parse up to the first
	// non-flag argument only.
	if err := top.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			mainHelp(stdout, cmds)
			return ExitOK
		}
		fmt.Fprintf(stderr, "quell: %v\nRun 'quell --help' for usage.\n", err)
		return ExitUsage
	}
	if version {
		args = []string{"version"}
	} else {
		args = top.fs.Args()
	}
	if len(args) == 0 {
		mainHelp(stderr, cmds)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		if len(rest) == 0 {
			mainHelp(stdout, cmds)
			return ExitOK
		}
		name, rest = rest[0], []string{"--help"}
	}
	var cmd *command
	for _, c := range cmds {
		if c.name == name {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "quell: unknown command %q%s\nRun 'quell --help' for the list of commands.\n", name, suggest(name, cmds))
		return ExitUsage
	}
	return runCommand(e, cmd, rest)
}

func runCommand(e *env, cmd *command, args []string) int {
	f := newFlags("quell " + cmd.name)
	if cmd.setFlags != nil {
		cmd.setFlags(f)
	}
	e.g.register(f)
	pos, err := f.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		commandHelp(e.stdout, cmd, f)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "quell %s: %v\nRun 'quell %s --help' for usage.\n", cmd.name, err, cmd.name)
		return ExitUsage
	}
	code, err := cmd.run(e, pos)
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "quell %s: %v\nRun 'quell %s --help' for usage.\n", cmd.name, err, cmd.name)
		return ExitUsage
	case err != nil:
		// An error may quote what a container's creator chose (a name, an
		// ID): its lines are escaped like the rest of human output.
		fmt.Fprintf(e.stderr, "quell %s: %s\n", cmd.name, safetext.Lines(err.Error(), maxErrorLine))
		return ExitFailure
	}
	return code
}

func mainHelp(w io.Writer, cmds []*command) {
	fmt.Fprint(w, `quell shows and explains what quelld does to keep tenants on this host from hurting each other.

Usage: quell [--socket PATH] [--json] COMMAND [ARGS]

Commands:
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Global flags (before or after the command):
  --socket PATH  quelld's API socket (default `+api.DefaultSocket+`)
  --json         print JSON instead of a table

Exit status: 0 ok, 1 failure or findings, 2 usage error, 3 a file to check
(policy check, config check) could not be read.
Read-only commands (status, top, tenants, containers, explain, plan) read
cgroupfs directly when quelld is not running.

Examples:
  quell top -c
  quell explain 3f2a1b4c5d6e
  sudo quell release 3f2a1b4c5d6e

Run 'quell COMMAND --help' for more about a command.
`)
}

func commandHelp(w io.Writer, c *command, f *flags) {
	usage := "quell " + c.name + " [flags]"
	if c.args != "" {
		usage += " " + c.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", usage, c.summary)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", c.detail)
	}
	fmt.Fprint(w, "\nFlags:\n")
	f.help(w)
	if len(c.examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
}

// suggest returns " (did you mean X?)" for a near miss.
func suggest(name string, cmds []*command) string {
	var near []string
	for _, c := range cmds {
		if strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) || editDistance(name, c.name) <= 2 {
			near = append(near, c.name)
		}
	}
	sort.Strings(near)
	if len(near) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(near, " or ") + "?)"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
