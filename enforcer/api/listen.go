package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultSocket is where quelld listens and quell connects by default.
const DefaultSocket = "/run/quell/quelld.sock"

// Listen creates the API socket at path: it creates the parent directory
// (0755) when missing, removes a stale socket left by a dead quelld (but
// refuses when a live one answers, or when path is not a socket), listens,
// sets mode 0660 and, when group is not empty and exists, gives the socket to
// that group so its members can connect. When the group does not exist the
// socket stays root-only and Listen still succeeds. Closing the listener
// removes the socket.
func Listen(path, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	l.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	if group != "" {
		if g, err := user.LookupGroup(group); err == nil {
			gid, err := strconv.Atoi(g.Gid)
			if err == nil {
				err = os.Chown(path, -1, gid)
			}
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("chgrp %s %s: %w", group, path, err)
			}
		}
	}
	return l, nil
}

// removeStale removes path when it is a socket nobody answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("listen %s: exists and is not a socket; remove it if it is not needed", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("listen %s: another quelld is already serving on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
