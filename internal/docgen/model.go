// Package docgen renders quell's man pages (quell.1, quelld.8,
// quell-policy.5) and its bash, zsh and fish completions from a description
// of the command line: the CLI's own command table (enforcer/cli.Reference)
// and quelld's own FlagSet, so that documentation cannot drift from what the
// binaries accept. It imports nothing of quell's, does no I/O, and knows
// nothing about what the commands do beyond the text it is given.
package docgen

import (
	"regexp"
	"strings"
)

// Flag is one command-line flag: --Long, with an optional -Short alias and,
// when it takes a value, Arg naming it (PATH, FILE, DIR and DURATION are
// understood by the completions).
type Flag struct {
	Short, Long, Arg, Usage string
}

// Command is one subcommand of quell.
type Command struct {
	Name string
	// Args is the usage line's positional part, e.g. "ID|CGROUP" or
	// "check [FILE|DIR...]": lower-case words are literal keywords.
	Args     string
	Summary  string
	Detail   string
	Examples []string
	Flags    []Flag
}

// CLI is quell's command line: flags every command takes, and the commands.
type CLI struct {
	Globals  []Flag
	Commands []Command
}

// Meta is stamped into every man page.
type Meta struct {
	Version string // e.g. "v1.2.0" (git describe)
	Date    string // e.g. "2026-12-05"
}

var keyword = regexp.MustCompile(`^[a-z][a-z-]*$`)

// keywords returns the literal words of c.Args that come first ("check"
// in "check [FILE|DIR...]").
func (c Command) keywords() []string {
	var out []string
	for _, w := range strings.Fields(c.Args) {
		if !keyword.MatchString(w) {
			break
		}
		out = append(out, w)
	}
	return out
}

// takesFiles reports whether c's positional arguments are paths.
func (c Command) takesFiles() bool { return pathLike(c.Args) }

// pathLike reports whether an argument name names a file system path.
func pathLike(arg string) bool {
	for _, w := range []string{"PATH", "FILE", "DIR"} {
		if strings.Contains(arg, w) {
			return true
		}
	}
	return false
}

// firstSentence cuts a usage text to its first line, for completion menus.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
