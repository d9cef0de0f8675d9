// Package discover finds container cgroups under a cgroup v2 root and reads
// each container's metadata from its runtime's own state: runc's state.json
// under the runtime state roots of Docker, containerd and podman, crun's
// status, the OCI config's annotations, and Docker's container store for
// names and labels; and it finds a container's writable layer
// (WritableLayer: the overlay upperdir of its root mount, else the bundle's
// rootfs). It only reads; it never writes to cgroupfs or runtime state.
//
// Names in cgroupfs are chosen by whoever may mkdir there, so a name is a
// container only under its runtime's own parents (Classify) and never in or
// below a delegated directory (Walk, Delegated); runtime state found by ID
// must describe the cgroup it was found at (Roots.Check).
//
// A container whose metadata cannot be read is still reported, with the
// reason in MetaErr, so that it can be classified by its cgroup path alone.
package discover
