// Package cli is the quell command: argument parsing, the commands of
// DESIGN.md (status, top, tenants, containers, explain, events, plan,
// policy check, release, reload, version) and their human and JSON output.
//
// It talks to quelld through package api. When quelld cannot be reached, the
// read-only commands fall back to Options.Local, a Source that reads
// cgroupfs directly, and say so. The package holds no enforcement logic and
// never writes to cgroupfs itself; cmd/quell only wires Main.
package cli
