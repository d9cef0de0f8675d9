// Package policies owns quell's policy model: the version-1 TOML format, its
// strict validation and the matching of a container to its tenant. It imports
// nothing else of quell's, writes nothing, and does no I/O beyond reading the
// policy files it is given. It does not apply limits or evaluate rules: it only
// says what the policy asks for.
//
// # Loading
//
// [Load] reads files and directories (a directory contributes its *.toml
// files in lexical order, hidden files skipped) and merges them in order:
// tenants, rules and detectors keep file order. [Parse] does the same for one
// file held in memory. Either returns a complete *Policy, or nil and an
// [Errors] value listing every problem found, each naming
// file:line:column, the owning [[tenant]]/[[rule]]/[[detector]] and the key:
//
//	policy.d/10-acme.toml:12:3: tenant "acme": limits.memory_high (5GiB) is above limits.memory (4GiB)
//
// Decoding is strict: unknown keys, wrong types, bad units and impossible
// values are errors, never silently ignored or turned into zero.
//
// # Units
//
// Sizes ([ParseSize]) are bytes: a bare TOML integer, or a string "512",
// "1.5GB" (B, KB, MB, GB, TB: powers of 10) or "4GiB" (KiB, MiB, GiB, TiB:
// powers of 2). Rates ([ParseRate]) need a unit: bits ("100Mbit"; Kbit, Mbit,
// Gbit, Tbit are powers of 10, Kibit... powers of 2) or bytes ("10MB" = 80
// Mbit), optionally followed by "/s". io rates are stored in bytes/s (a bare
// integer means bytes/s), net rates in bits/s (a unit is required).
// Durations are Go durations ("5s", "1m30s").
//
// # Matching
//
// A tenant's [tenant.match] holds when every non-empty field holds:
// one of its cgroups globs matches the container's cgroup, one of its names
// globs matches the container name, and every label is present with the
// given value ("*" means present with any value). The first tenant in file
// order whose match holds wins. An empty match is an error: to match every
// container, say so with cgroups = ["**"].
//
// Cgroup globs are relative to the cgroup root, without a leading "/", and
// use path.Match syntax: "*" and "?" never cross a "/", so each path element
// is matched separately ("kubepods.slice/*/*/cri-containerd-*.scope" matches
// exactly four levels). A final "/**" element matches one or more further
// path elements at any depth: "kubepods.slice/**" matches everything below
// kubepods.slice (not kubepods.slice itself), and "**" alone matches every
// cgroup. "**" anywhere else is an error. Name globs use path.Match and do not
// support "**".
package policies
