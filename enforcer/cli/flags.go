package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagSpec documents one flag (and its short alias) for --help.
type flagSpec struct{ short, long, arg, usage string }

// flags wraps a flag.FlagSet so that every flag has a --long name, an
// optional -s short alias, and a help line.
type flags struct {
	fs    *flag.FlagSet
	specs []flagSpec
}

func newFlags(name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flags{fs: fs}
}

func (f *flags) names(short, long string, reg func(name string)) {
	reg(long)
	if short != "" {
		reg(short)
	}
}

func (f *flags) boolVar(p *bool, short, long, usage string) {
	f.names(short, long, func(n string) { f.fs.BoolVar(p, n, *p, usage) })
	f.specs = append(f.specs, flagSpec{short, long, "", usage})
}

func (f *flags) stringVar(p *string, short, long, arg, usage string) {
	f.names(short, long, func(n string) { f.fs.StringVar(p, n, *p, usage) })
	f.specs = append(f.specs, flagSpec{short, long, arg, usage})
}

func (f *flags) durationVar(p *time.Duration, short, long, usage string) {
	f.names(short, long, func(n string) { f.fs.DurationVar(p, n, *p, usage) })
	f.specs = append(f.specs, flagSpec{short, long, "DURATION", usage})
}

func (f *flags) uintVar(p *uint64, short, long, arg, usage string) {
	f.names(short, long, func(n string) { f.fs.Uint64Var(p, n, *p, usage) })
	f.specs = append(f.specs, flagSpec{short, long, arg, usage})
}

func (f *flags) intVar(p *int, short, long, arg, usage string) {
	f.names(short, long, func(n string) { f.fs.IntVar(p, n, *p, usage) })
	f.specs = append(f.specs, flagSpec{short, long, arg, usage})
}

// parse parses args, allowing flags before, between and after positional
// arguments; everything after "--" is positional. It returns the positional
// arguments, or flag.ErrHelp for -h/--help, or a usage error.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			return nil, err
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// help writes the flag lines, aligned.
func (f *flags) help(w io.Writer) {
	var left []string
	for _, s := range f.specs {
		l := "  "
		if s.short != "" {
			l += "-" + s.short + ", "
		} else {
			l += "    "
		}
		l += "--" + s.long
		if s.arg != "" {
			l += " " + s.arg
		}
		left = append(left, l)
	}
	width := 0
	for _, l := range left {
		width = max(width, len(l))
	}
	for i, s := range f.specs {
		fmt.Fprintf(w, "%-*s  %s\n", width, left[i], s.usage)
	}
}

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// oneOf checks that v is one of allowed.
func oneOf(flagName, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usagef("--%s %q: want one of %s", flagName, v, strings.Join(allowed, ", "))
}
