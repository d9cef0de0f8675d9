// Package enforcer owns quelld's loop: discover → classify → desire →
// reconcile → observe → detect → act → record. Each step lives in its own
// file or sub-package; this package wires them together and holds the
// in-memory view that the API and the CLI read. Every write to the kernel
// goes through limits (cgroupfs), limits/tc (netlink), limits/projquota
// (project quotas) or systemd (D-Bus), and runtime state is read by
// enforcer/discover. Enforcer itself only reads /proc (host meminfo, a
// container's TCP peers, network namespace inodes, and for process-name
// rules the comm and exe of the tasks in a cgroup's cgroup.procs), lists,
// stats and inotify-watches the directories of the cgroup tree and the
// policy paths, reads its daemon config file, and runs the pre-evict hook.
package enforcer
