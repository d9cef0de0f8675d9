package limits

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mountEntry is the part of a mountinfo line quell needs.
type mountEntry struct {
	MountPoint string
	FSType     string
	Source     string // the block device for xfs/ext4
}

// parseMountinfo parses /proc/<pid>/mountinfo. Malformed lines are errors
// naming their line number.
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
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
		out = append(out, mountEntry{MountPoint: unescapeMount(f[4]), FSType: f[sep+1], Source: unescapeMount(f[sep+2])})
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
		if s[i] == '\\' && i+3 < len(s) {
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
func mountOf(entries []mountEntry, p string) (mountEntry, bool) {
	var best mountEntry
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
	entries, err := parseMountinfo(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", mountinfo, err)
	}
	e, ok := mountOf(entries, abs)
	if !ok || !strings.HasPrefix(e.Source, "/") {
		return "", fmt.Errorf("no block device mounted at %s in %s", abs, mountinfo)
	}
	return e.Source, nil
}
