package limits

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SelfCgroup returns the cgroup v2 path of the calling process, relative
// to the cgroup root ("system.slice/quelld.service"; "" for the root), read
// from procRoot/self/cgroup (procRoot is normally /proc). Pass it to
// WithSelf so FS never limits, freezes or kills quelld. On a v1/v2 hybrid
// the "0::" line is used. Errors: the read error, or ErrSyntax when there
// is no "0::" line (a pure cgroup v1 host).
func SelfCgroup(procRoot string) (string, error) {
	p := filepath.Join(procRoot, "self", "cgroup")
	fd, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("self cgroup: %w", err)
	}
	defer fd.Close()
	cg, err := parseProcCgroup(fd)
	if err != nil {
		return "", fmt.Errorf("self cgroup: %s: %w", p, err)
	}
	return cg, nil
}

// parseProcCgroup extracts the unified ("0::") path from a
// /proc/<pid>/cgroup file and makes it relative.
func parseProcCgroup(r io.Reader) (string, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			p = strings.TrimSuffix(p, " (deleted)")
			if !strings.HasPrefix(p, "/") {
				return "", errSyntax("cgroup", line)
			}
			return strings.TrimPrefix(filepath.Clean(p), "/"), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no cgroup v2 (0::) line: %w", ErrSyntax)
}
