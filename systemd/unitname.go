package systemd

import (
	"os"
	"path/filepath"
	"strings"
)

// UnitForCgroup returns the systemd unit that owns cgroup cg (a path below
// the cgroup root, with or without a leading "/") and ok=true when PID 1's
// manager owns it:
//
//	system.slice/docker-<id>.scope → docker-<id>.scope
//	system.slice/x.service         → x.service
//	quell.slice/quell-acme.slice   → quell-acme.slice
//
// The leaf must be a .scope, .service or .slice and every ancestor a slice
// whose path matches systemd's slice naming (a-b.slice lives in a.slice).
// Anything inside a service or scope (a delegated subtree such as
// user@1000.service/…, or a runtime's own sub-cgroups) is not PID 1's to
// change, nor are cgroupfs-driver paths like docker/<id> or the root: those
// give ok=false.
func UnitForCgroup(cg string) (unit string, ok bool) {
	cg = strings.Trim(cg, "/")
	if cg == "" {
		return "", false
	}
	parts := strings.Split(cg, "/")
	for i, p := range parts {
		parts[i] = unescapeCgroup(p)
		if !validUnitName(parts[i]) {
			return "", false
		}
	}
	leaf := parts[len(parts)-1]
	if !strings.HasSuffix(leaf, ".scope") && !strings.HasSuffix(leaf, ".service") && !strings.HasSuffix(leaf, ".slice") {
		return "", false
	}
	parent := ""
	for _, p := range parts[:len(parts)-1] {
		if !strings.HasSuffix(p, ".slice") || sliceParent(p) != parent {
			return "", false
		}
		parent = p
	}
	if strings.HasSuffix(leaf, ".slice") && sliceParent(leaf) != parent {
		return "", false
	}
	return leaf, true
}

// SliceCgroup returns the cgroup path (below the root, no leading "/") that
// systemd gives slice unit name: quell-acme.slice → quell.slice/quell-acme.slice.
// "-.slice" is the root, "".
func SliceCgroup(name string) string {
	if name == "-.slice" {
		return ""
	}
	var path []string
	for s := name; s != ""; s = sliceParent(s) {
		path = append([]string{s}, path...)
	}
	return strings.Join(path, "/")
}

// sliceParent is the parent slice of a slice unit, "" for a top-level one
// (whose parent is the root, -.slice).
func sliceParent(name string) string {
	base := strings.TrimSuffix(name, ".slice")
	i := strings.LastIndexByte(base, '-')
	if i <= 0 {
		return ""
	}
	return base[:i] + ".slice"
}

// unescapeCgroup undoes systemd's cg_escape, which prefixes "_" to names
// that could clash with kernel files (cpu.slice → _cpu.slice).
func unescapeCgroup(p string) string {
	return strings.TrimPrefix(p, "_")
}

// validUnitName checks the characters systemd allows in unit names.
func validUnitName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(":-_.\\@", c):
		default:
			return false
		}
	}
	return true
}

// Running reports whether systemd is the service manager of the system whose
// root is root ("/" on a real host), the way sd_booted(3) does: the directory
// root/run/systemd/system exists. It does no D-Bus I/O; Connect can still
// fail (dbus-daemon down, no permission).
func Running(root string) bool {
	fi, err := os.Stat(filepath.Join(root, "run", "systemd", "system"))
	return err == nil && fi.IsDir()
}
