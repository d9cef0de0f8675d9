package cli

import "github.com/quell-dev/quell/internal/docgen"

// Reference returns quell's command line as data, in the order 'quell
// --help' lists it: the flags every command takes and each command with its
// own flags. cmd/quell-docs renders quell(1) and the bash, zsh and fish
// completions from it, so they list exactly what Main accepts.
func Reference() docgen.CLI {
	var ref docgen.CLI
	g := newFlags("quell")
	(&globals{}).register(g)
	ref.Globals = docFlags(g)
	for _, c := range commands() {
		f := newFlags("quell " + c.name)
		if c.setFlags != nil {
			c.setFlags(f)
		}
		ref.Commands = append(ref.Commands, docgen.Command{Name: c.name, Args: c.args, Summary: c.summary,
			Detail: c.detail, Examples: c.examples, Flags: docFlags(f)})
	}
	return ref
}

// ExitCodes are quell's exit statuses, for quell(1).
func ExitCodes() []docgen.ExitCode {
	return []docgen.ExitCode{
		{Code: ExitOK, Meaning: "Done; for a check, nothing was found."},
		{Code: ExitFailure, Meaning: "Failed, or a check found problems (an invalid policy, quelld reporting errors)."},
		{Code: ExitUsage, Meaning: "The command line is wrong."},
		{Code: ExitUnreadable, Meaning: "A check (policy check, config check) could not read a file: whether it is valid is unknown."},
	}
}

func docFlags(f *flags) []docgen.Flag {
	var out []docgen.Flag
	for _, s := range f.specs {
		out = append(out, docgen.Flag{Short: s.short, Long: s.long, Arg: s.arg, Usage: s.usage})
	}
	return out
}
