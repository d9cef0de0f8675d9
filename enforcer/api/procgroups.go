package api

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcGroups returns a func reading a process's supplementary groups from the
// "Groups:" line of procRoot/<pid>/status ("/proc" when procRoot is empty).
func ProcGroups(procRoot string) func(pid int32) ([]uint32, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	return func(pid int32) ([]uint32, error) {
		if pid <= 0 {
			return nil, fmt.Errorf("no pid for the peer")
		}
		p := filepath.Join(procRoot, strconv.Itoa(int(pid)), "status")
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read groups: %w", err)
		}
		defer f.Close()
		g, err := parseStatusGroups(f)
		if err != nil {
			return nil, fmt.Errorf("read groups from %s: %w", p, err)
		}
		return g, nil
	}
}

// parseStatusGroups parses the "Groups:" line of a /proc/<pid>/status file:
// "Groups:\t4 24 27 \n". A status without that line is an error.
func parseStatusGroups(r io.Reader) ([]uint32, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		groups := []uint32{}
		for _, f := range strings.Fields(rest) {
			id, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad group %q in Groups line", f)
			}
			groups = append(groups, uint32(id))
		}
		return groups, nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no Groups line")
}
