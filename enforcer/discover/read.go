package discover

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// MaxMetaFile caps the size of every metadata file read (state.json,
// crun's status, config.json, config.v2.json, /proc files): a bigger one is
// an error, not a reason to hold megabytes of a tenant's annotations.
const MaxMetaFile = 4 << 20

// readCapped reads path whole, or fails when it holds more than
// MaxMetaFile bytes. A missing file's error wraps fs.ErrNotExist.
func readCapped(path string) ([]byte, error) {
	data, err := readUpTo(path, MaxMetaFile+1)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMetaFile {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, MaxMetaFile)
	}
	return data, nil
}

// readUpTo reads at most max bytes of path. Raw syscalls, not os.Open: an
// os.File registers with the runtime's poller (an epoll_ctl in and one out,
// cgroupfs files being pollable, and a failed one for the rest), two
// syscalls more on every metadata read, which quelld repeats for each
// container without runtime state until it has it (in the lab's resync of
// 10,000 such cgroups these reads, opens and all, were 15% of quelld's
// CPU). Errors are *os.PathError, as os.Open's.
func readUpTo(path string, max int) ([]byte, error) {
	var fd int
	var err error
	for {
		if fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, min(max, 4096))
	for len(buf) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):min(cap(buf), max)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n <= 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

// maxProcsScanned bounds how many of a cgroup's processes ContainedPID
// looks at.
const maxProcsScanned = 64

// procsBytes is what ContainedPID reads of cgroup.procs: maxProcsScanned
// lines of PIDs (at most 7 digits each, PID_MAX_LIMIT being 4,194,304)
// fit many times over.
const procsBytes = 4096

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
	data, err := readUpTo(p, procsBytes)
	if err != nil {
		return 0, err
	}
	if len(data) == procsBytes { // cut short: the last line may be partial
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	hostMnt := "" // read at the first PID: an empty cgroup costs no readlink
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for n, line := range lines {
		if n >= maxProcsScanned || len(data) == 0 {
			break
		}
		pid, err := strconv.Atoi(string(bytes.TrimSpace(line)))
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("parse %s: bad PID %q", p, line)
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
	return 0, nil
}
