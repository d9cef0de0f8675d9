// Package benchmarks is quell's benchmark suite: limit fidelity (set vs
// achieved), protection of a latency-sensitive victim, reaction time to an
// antagonist (quelld vs systemd-oomd) and quelld's overhead with many
// cgroups. A Suite runs Cases against a real cgroup v2 tree (the lab guest
// or a real host), shows one progress line per case with an ETA, and
// Report renders the Results as report.md, report.json and SVG charts.
//
// Cases measure ratios of the kernel's own counters (cpu.stat, io.stat,
// memory.peak, qdisc and link counters, quota usage) wherever emulation
// would distort wall-clock absolutes, and every Result says how it was
// measured and on what. Cases write only below the cgroup root and the
// scratch mounts they are given; they must never run on a host whose
// cgroups belong to something else (the lab exists for that).
package benchmarks
