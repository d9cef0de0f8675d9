package docgen

import (
	"fmt"
	"strings"
)

// ExitCode is one documented exit status of quell.
type ExitCode struct {
	Code    int
	Meaning string
}

// ManQuell renders quell(1): every command of cli with its own flags,
// the global flags and the exit codes.
func ManQuell(cli CLI, exits []ExitCode, m Meta) []byte {
	var r roff
	r.th("quell", "1", m, "quell manual")
	r.sh("name")
	r.raw(`quell \- show and explain what quelld does to keep tenants on a host from hurting each other`)
	r.sh("synopsis")
	r.raw(bold("quell") + " [" + bold("--socket") + " " + italic("PATH") + "] [" + bold("--json") + "] " +
		italic("COMMAND") + " [" + italic("ARGS") + "]")
	r.sh("description")
	r.text(`quell is the operator's view of quelld(8), the daemon that applies each tenant's cgroup v2 limits ` +
		`on a container host and throttles, freezes or evicts noisy neighbours. It shows live usage per tenant, ` +
		`explains every decision, lists events, plans and checks policies, and lifts penalties.

quell talks to quelld over its API socket. When quelld cannot be reached, the read-only commands ` +
		`(status, top, tenants, containers, explain, plan) read cgroupfs and the runtimes' state directly, ` +
		`and say so. Human tables are the default; --json prints JSON for every command.`)
	r.sh("commands")
	for _, c := range cli.Commands {
		usage := bold("quell "+c.Name) + " [" + italic("flags") + "]"
		if c.Args != "" {
			usage += " " + italic(c.Args)
		}
		r.ss("quell " + c.Name)
		r.raw(usage)
		r.line(".PP")
		r.text(c.Summary + ".")
		if c.Detail != "" {
			r.line(".PP")
			r.text(unwrap(c.Detail))
		}
		for _, f := range c.Flags {
			r.tp(flagTag(f), f.Usage)
		}
		if len(c.Examples) > 0 {
			r.example(c.Examples...)
		}
	}
	r.sh("global options")
	r.text("These flags are taken before or after any command.")
	for _, f := range cli.Globals {
		r.tp(flagTag(f), f.Usage)
	}
	r.tp(flagTag(Flag{Short: "h", Long: "help"}), "Print usage (of quell, or of the command it follows) and exit 0.")
	r.tp(flagTag(Flag{Long: "version"}), "Print the version, as 'quell version' does.")
	r.sh("exit status")
	for _, e := range exits {
		r.tp(bold(fmt.Sprint(e.Code)), e.Meaning)
	}
	r.sh("environment")
	r.tp(bold("QUELL_CONFIG"), "The daemon config quell reads when it falls back to reading cgroupfs itself "+
		"(default /etc/quell/quelld.toml).")
	r.sh("files")
	r.tp(italic("/run/quell/quelld.sock"), "quelld's API socket: root may change things, members of group quell may read.")
	r.tp(italic("/etc/quell/policy.d/*.toml"), "The policy, see quell-policy(5).")
	r.tp(italic("/etc/quell/quelld.toml"), "quelld's config, see quelld(8).")
	r.sh("see also")
	r.raw(bold("quelld") + "(8), " + bold("quell-policy") + "(5), " + bold("systemctl") + "(1), " + bold("journalctl") + "(1)")
	return r.bytes()
}

// unwrap joins lines that the CLI's --help text wraps at 80 columns, so
// that roff fills them; blank lines stay paragraph breaks.
func unwrap(s string) string {
	paras := strings.Split(s, "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n\n")
}
