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

// maxProcsScanned bounds how many of a cgroup's processes ContainedPID
// looks at.
const maxProcsScanned = 64

// ContainedPID returns the first process listed in the cgroup's
// cgroup.procs (root is the cgroup mount, rel the cgroup below it) that
// lives in another mount namespace than procRoot/1 (the host's init): the
// stand-in for an init PID when no runtime state gives one. A process in
// the host's own namespaces would lead the writable layer and the network
// found from it to the host's, so 0 is returned when there is no such
// process among the first few. A missing cgroup's error wraps
// fs.ErrNotExist.
func ContainedPID(procRoot, root, rel string) (int, error) {
	p := filepath.Join(root, rel, "cgroup.procs")
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	hostMnt := "" // read at the first PID: an empty cgroup costs no readlink
	sc := bufio.NewScanner(f)
	for n := 0; n < maxProcsScanned && sc.Scan(); n++ {
		pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("parse %s: bad PID %q", p, sc.Text())
		}
		if hostMnt == "" {
			if hostMnt, err = os.Readlink(filepath.Join(procRoot, "1/ns/mnt")); err != nil {
				return 0, fmt.Errorf("host mount namespace: %w", err)
			}
		}
		mnt, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "ns/mnt"))
		if err == nil && mnt != hostMnt {
			return pid, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", p, err)
	}
	return 0, nil
}
