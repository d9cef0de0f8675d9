package discover

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxMetaFile caps the size of every metadata file read (state.json,
// crun's status, config.json, config.v2.json, /proc files): a bigger one is
// an error, not a reason to hold megabytes of a tenant's annotations.
const MaxMetaFile = 4 << 20

// readCapped reads path whole, or fails when it holds more than
// MaxMetaFile bytes. A missing file's error wraps fs.ErrNotExist.
func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxMetaFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxMetaFile {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, MaxMetaFile)
	}
	return data, nil
}

// FirstPID returns the first process listed in the cgroup's cgroup.procs
// (root is the cgroup mount, rel the cgroup below it), the stand-in for an
// init PID when no runtime state gives one; 0 when the cgroup has no
// process of its own. A missing cgroup's error wraps fs.ErrNotExist.
func FirstPID(root, rel string) (int, error) {
	p := filepath.Join(root, rel, "cgroup.procs")
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if sc.Scan() {
		pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("parse %s: bad PID %q", p, sc.Text())
		}
		return pid, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	return 0, nil
}
