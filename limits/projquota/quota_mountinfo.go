package projquota

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MountEntry is the part of a mountinfo line quell needs.
type MountEntry struct {
	MountPoint   string // unescaped
	FSType       string
	Source       string // unescaped; the block device for xfs/ext4
	SuperOptions string // as the kernel prints them (escaped); see Option
}

// Option returns the value of the super option name ("upperdir" of an
// overlay, say), with the kernel's octal escapes undone, and whether it is
// set.
func (m MountEntry) Option(name string) (string, bool) {
	for _, opt := range strings.Split(m.SuperOptions, ",") {
		if v, ok := strings.CutPrefix(opt, name+"="); ok {
			return unescapeMount(v), true
		}
	}
	return "", false
}

// ParseMountinfo parses /proc/<pid>/mountinfo, in the kernel's order (a
// later entry at the same mount point is mounted on top of an earlier one).
// Malformed lines are errors naming their line number.
func ParseMountinfo(r io.Reader) ([]MountEntry, error) {
	var out []MountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20) // overlay option lists can be long
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 10 || sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %d: malformed %q", n, sc.Text())
		}
		e := MountEntry{MountPoint: unescapeMount(f[4]), FSType: f[sep+1], Source: unescapeMount(f[sep+2])}
		if sep+3 < len(f) {
			e.SuperOptions = f[sep+3]
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// unescapeMount undoes the kernel's octal escapes (\040 for space, …).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountOf returns the entry whose mount point is the longest prefix of the
// absolute path p; later entries win over earlier ones on the same point
// (they are mounted on top).
func mountOf(entries []MountEntry, p string) (MountEntry, bool) {
	var best MountEntry
	found := false
	for _, e := range entries {
		mp := e.MountPoint
		if p == mp || mp == "/" || strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/") {
			if !found || len(mp) >= len(best.MountPoint) {
				best, found = e, true
			}
		}
	}
	return best, found
}

// deviceOf finds the block device mounted at (or above) path, reading the
// mountinfo file at mountinfo.
func deviceOf(mountinfo, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	f, err := os.Open(mountinfo)
	if err != nil {
		return "", fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	entries, err := ParseMountinfo(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", mountinfo, err)
	}
	e, ok := mountOf(entries, abs)
	if !ok || !strings.HasPrefix(e.Source, "/") {
		return "", fmt.Errorf("no block device mounted at %s in %s", abs, mountinfo)
	}
	return e.Source, nil
}
