package docgen

import (
	"flag"
	"strings"
)

// ManQuelld renders quelld(8): its flags from fs (the FlagSet quelld
// parses) and its config file from sampleConfig (the commented quelld.toml
// shipped as /etc/quell/quelld.toml).
func ManQuelld(fs *flag.FlagSet, sampleConfig []byte, m Meta) []byte {
	var r roff
	r.th("quelld", "8", m, "quell manual")
	r.sh("name")
	r.raw(`quelld \- per-tenant cgroup v2 limits and noisy-neighbour enforcement for container hosts`)
	r.sh("synopsis")
	r.raw(bold("quelld") + " [" + italic("flags") + "]")
	r.sh("description")
	r.text(`quelld watches the container cgroups of a cgroup v2 host (Docker, containerd and Kubernetes, ` +
		`podman, systemd-nspawn), assigns each container to a tenant by policy (quell-policy(5)), and applies ` +
		`the tenant's limits: CPU, memory and swap, io, pids, network bandwidth and disk quota. When a container ` +
		`exhausts a shared resource anyway, its rules and detectors throttle, freeze or evict it.

It runs as the systemd service quelld.service (Type=notify, with a watchdog). Units systemd owns are ` +
		`changed through D-Bus so that a daemon-reload does not revert them; other cgroups through cgroupfs. ` +
		`The original value of every file it changes is kept in its state directory and put back when the ` +
		`container leaves the policy or quelld is told to stand down (--restore-all). An invalid policy never ` +
		`replaces a valid one. quell(1) shows what it does.`)
	r.sh("options")
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		tag := bold("--" + f.Name)
		if arg != "" && !isBoolFlag(f) {
			tag += " " + italic(arg)
		}
		if d := f.DefValue; d != "" && d != "false" {
			usage += " (default " + d + ")"
		}
		r.tp(tag, usage)
	})
	r.tp(bold("-h")+", "+bold("--help"), "Print usage and exit 0.")
	r.sh("signals")
	r.tp(bold("SIGHUP"), "Re-read the policy (systemctl reload quelld). An invalid policy is refused and the last good one stays in force.")
	r.tp(bold("SIGTERM")+", "+bold("SIGINT"), "Stop: penalties are lifted (nothing stays frozen or throttled) and the state is saved; limits stay in place, so that a restart does not open the floodgates (--restore-all puts the originals back). A second signal exits at once.")
	r.sh("configuration")
	r.text("/etc/quell/quelld.toml holds the daemon's settings; every key is optional and a flag above overrides its key. " +
		"The file as shipped, with the defaults:")
	r.example(strings.Split(strings.TrimRight(string(sampleConfig), "\n"), "\n")...)
	r.sh("files")
	r.tp(italic("/etc/quell/quelld.toml"), "Daemon config (--config).")
	r.tp(italic("/etc/quell/policy.d/*.toml"), "Policy files, read in lexical order; see quell-policy(5).")
	r.tp(italic("/var/lib/quell/"), "State: original values, penalties with their deadlines, project IDs, events.")
	r.tp(italic("/run/quell/quelld.sock"), "API socket (HTTP and JSON), root:quell 0660.")
	r.tp(italic("127.0.0.1:9477"), "Prometheus metrics at /metrics (metrics_addr).")
	r.sh("exit status")
	r.tp(bold("0"), "Stopped cleanly, or --check-host, --restore-all or --version succeeded.")
	r.tp(bold("1"), "Could not start or run (the journal says why), or --check-host found a problem, or --restore-all could not put everything back.")
	r.tp(bold("2"), "The command line is wrong.")
	r.sh("see also")
	r.raw(bold("quell") + "(1), " + bold("quell-policy") + "(5), " + bold("systemd.service") + "(5), " + bold("systemd-sysusers") + "(8)")
	return r.bytes()
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
