package docgen

import (
	"fmt"
	"sort"
	"strings"
)

// KeySection is one table of the policy format and the keys it accepts
// (policies.Keys).
type KeySection struct {
	Section string
	Keys    []string
}

// keyHelp describes each policy key, by "section key". ManPolicy refuses a
// key it has no description for, so that a key added to the decoder
// cannot go undocumented.
var keyHelp = map[string]string{
	" version":    "The format version: 1. Required.",
	" tenant":     "An array of tables, one per tenant, in priority order.",
	" rule":       "An array of tables, one per rule.",
	" detector":   "An array of tables, one per abuse detector.",
	"tenant name": "The tenant's name: [a-z0-9][a-z0-9-]*, unique across all files.",
	"tenant class": "guaranteed, burstable (the default) or best-effort. A guaranteed tenant is never the target of a rule " +
		"while it stays within its own limits; best-effort tenants are throttled first.",
	"tenant override":  "true: the policy may loosen limits the container runtime set (default false: it only tightens them).",
	"tenant match":     "Which containers the tenant takes; the first tenant in file order whose match holds wins.",
	"tenant limits":    "The tenant's aggregate limits, over all of its containers.",
	"tenant container": "The same keys as limits, as a cap on each of the tenant's containers; also ulimits.",
	"tenant.match cgroups": "Globs below the cgroup root, without a leading /. * and ? stay within one path element; " +
		"a final /** matches any depth; ** alone matches every cgroup.",
	"tenant.match names":  "Globs on container names (Docker name, Kubernetes pod/container, podman name). Chosen by the container's creator.",
	"tenant.match labels": "A table of labels or annotations that must all be present with these values (\"*\": present with any value). Chosen by the container's creator.",
	"tenant.match trusted_labels": "The same as labels, but only labels the runtime set itself (today the Kubernetes keys " +
		"containerd's CRI records); use these for a guaranteed tenant.",
	"tenant.limits, tenant.container cpus":        "CPUs, e.g. 2.5: cpu.max \"250000 100000\".",
	"tenant.limits, tenant.container cpu_weight":  "cpu.weight, 1 to 10000.",
	"tenant.limits, tenant.container cpuset":      "CPUs the tenant may run on, e.g. \"0-3\": cpuset.cpus.",
	"tenant.limits, tenant.container cpuset_mems": "Memory nodes, e.g. \"0\": cpuset.mems.",
	"tenant.limits, tenant.container memory":      "A size: memory.max.",
	"tenant.limits, tenant.container memory_high": "A size: memory.high; at most memory.",
	"tenant.limits, tenant.container memory_low":  "A size: memory.low.",
	"tenant.limits, tenant.container swap":        "A size: memory.swap.max; \"0\" means no swap.",
	"tenant.limits, tenant.container pids":        "pids.max.",
	"tenant.limits, tenant.container io":          "An array of per-device tables: io.max.",
	"tenant.limits, tenant.container io_weight":   "io.weight, 1 to 10000.",
	"tenant.limits, tenant.container net":         "Network bandwidth: a table with egress and/or ingress.",
	"tenant.limits, tenant.container disk":        "A project quota on the container's writable layer and volumes.",
	"tenant.limits, tenant.container ulimits":     "Per-process limits (under tenant.container only), set live with prlimit.",
	"io device":       "The block device, e.g. \"/dev/vda\"; it must exist.",
	"io read_bps":     "Read bandwidth, a byte rate (\"200MB\"; a bare integer is bytes/s).",
	"io write_bps":    "Write bandwidth, a byte rate.",
	"io read_iops":    "Read operations per second.",
	"io write_iops":   "Write operations per second.",
	"net egress":      "Outgoing rate, a bit rate such as \"100Mbit\" (tc on the container's veth).",
	"net ingress":     "Incoming rate, a bit rate.",
	"disk bytes":      "A size: the project quota's block limit.",
	"disk inodes":     "The project quota's inode limit.",
	"disk volumes":    "Absolute host paths of volumes that count against the same quota.",
	"ulimits nofile":  "Open files (RLIMIT_NOFILE).",
	"ulimits nproc":   "Processes of the container's user (RLIMIT_NPROC).",
	"ulimits cpu":     "CPU time per process, a duration such as \"10m\" (RLIMIT_CPU).",
	"ulimits core":    "Core file size (RLIMIT_CORE); 0 means none.",
	"rule name":       "The rule's name, unique.",
	"rule when":       "The condition: a table with signal, above or below, and for.",
	"rule release":    "Hysteresis: the rule releases only once the signal is back past this value.",
	"rule target":     "Whom to act on: a table with classes, tenants and rank.",
	"rule ladder":     "The steps, in order, each taken while the condition keeps holding: throttle, freeze, evict.",
	"rule cooldown":   "A duration: how long after acting the rule waits before acting again.",
	"rule quarantine": "A duration (default 10m, \"0s\" for none): an evicted container that comes back within it is evicted again on sight.",
	"rule dry_run":    "true: decide and record, act on nothing.",
	"rule.when signal": "The signal: host.<cpu|memory|io>.<some|full>.<recent|avg1|avg10|avg60|avg300> (PSI), host.memory.available " +
		"(percent of MemTotal), or the same PSI signals per tenant as tenant.*.",
	"rule.when above":     "The condition holds while the signal is above this value.",
	"rule.when below":     "The condition holds while the signal is below this value.",
	"rule.when for":       "A duration the condition must hold before the rule acts.",
	"rule.target classes": "The tenant classes the rule may act on.",
	"rule.target tenants": "The tenants the rule may act on.",
	"rule.target rank":    "What makes a container the culprit, and what a throttle tightens: cpu, memory, io or pids.",
	"rule.ladder action":  "throttle, freeze or evict; nothing may follow evict.",
	"rule.ladder factor":  "For throttle: the fraction of what the culprit used that it keeps.",
	"rule.ladder for":     "How long the step's penalty lasts.",
	"detector name":       "The detector's name, unique.",
	"detector kind":       "flat-cpu, process-name or endpoint.",
	"detector min_cpus":   "flat-cpu: the CPU use (in CPUs) a container must keep.",
	"detector max_stddev": "flat-cpu: how flat that use must be.",
	"detector window":     "flat-cpu: over how long.",
	"detector names":      "process-name: globs on process names (comm or the executable's base name).",
	"detector ports":      "endpoint: destination ports that are denied.",
	"detector addresses":  "endpoint: destination addresses or prefixes that are denied.",
	"detector action":     "throttle, freeze or evict.",
	"detector factor":     "For throttle: the fraction kept.",
	"detector for":        "How long the penalty lasts.",
	"detector classes":    "The tenant classes the detector may act on.",
	"detector quarantine": "As for a rule.",
}

// ManPolicy renders quell-policy(5): the format, every key the decoder
// accepts (keys, from policies.Keys) and a complete example. It fails when
// a key has no description here.
func ManPolicy(keys []KeySection, example []byte, m Meta) ([]byte, error) {
	var missing []string
	for _, s := range keys {
		for _, k := range s.Keys {
			if _, ok := keyHelp[s.Section+" "+k]; !ok {
				missing = append(missing, strings.TrimSpace(s.Section+" "+k))
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("policy keys without a description in internal/docgen/man_policy.go: %s", strings.Join(missing, ", "))
	}
	var r roff
	r.th("quell-policy", "5", m, "quell manual")
	r.sh("name")
	r.raw(`quell-policy \- tenant policy files for quelld`)
	r.sh("synopsis")
	r.raw(italic("/etc/quell/policy.d/*.toml"))
	r.sh("description")
	r.text(`quelld(8) reads the TOML files in /etc/quell/policy.d in lexical order and merges them: tenants, ` +
		`rules and detectors keep file order. A tenant says which containers it takes (match), what they may use ` +
		`together (limits) and each on its own (container). A rule watches a signal and acts on the heaviest ` +
		`container of the tenants it targets; a detector looks for abuse such as crypto miners.

Validation is strict: unknown keys, wrong types, bad units and impossible values (memory_high above memory, ` +
		`more CPUs than the host has, an io device that does not exist, a container cap above the tenant's total, ` +
		`a bad glob, an unknown signal, a step after evict) are errors, each naming file:line:column and the key. ` +
		`Check files with 'quell policy check'. An invalid policy never replaces a valid one: quelld keeps ` +
		`enforcing the last good policy and says so.

Names, labels and annotations are chosen by whoever creates a container: a names or labels match is a ` +
		`claim anyone who may start a container can make. Limits the container runtime set are ceilings: the ` +
		`policy only tightens them unless the tenant says override = true.`)
	r.sh("units")
	r.text(`Sizes are bytes: an integer, or a string with B, KB, MB, GB, TB (powers of 10) or KiB, MiB, GiB, TiB ` +
		`(powers of 2). Network rates need a unit: Kbit, Mbit, Gbit (bits per second) or KB, MB (bytes per second), ` +
		`optionally followed by /s. io rates are bytes per second. Durations are Go durations: "5s", "1m30s".`)
	r.sh("keys")
	for _, s := range keys {
		title := "top level"
		if s.Section != "" {
			title = "[" + s.Section + "]"
		}
		r.ss(title)
		for _, k := range s.Keys {
			r.tp(bold(k), keyHelp[s.Section+" "+k])
		}
	}
	r.sh("example")
	r.example(strings.Split(strings.TrimRight(string(example), "\n"), "\n")...)
	r.sh("files")
	r.tp(italic("/etc/quell/policy.d/*.toml"), "The policy; hidden files and files not ending in .toml are skipped.")
	r.tp(italic("/etc/quell/policy.d/10-tenants.toml.example"), "The sample above, as installed (not read until renamed).")
	r.sh("see also")
	r.raw(bold("quell") + "(1), " + bold("quelld") + "(8)")
	return r.bytes(), nil
}
