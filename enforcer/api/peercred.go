package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// PeerCreds returns the credentials of the process at the other end of a Unix
// socket connection, from SO_PEERCRED, with its supplementary groups from
// SO_PEERGROUPS (both as the kernel recorded them at connect(), so a
// process that exits and whose PID is reused cannot lend its groups).
// When the kernel lacks SO_PEERGROUPS (before Linux 4.13: ENOPROTOOPT),
// Groups is nil and the Authorizer falls back to /proc/PID/status. Any
// other kind of connection is an error.
func PeerCreds(c net.Conn) (Creds, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Creds{}, fmt.Errorf("peer credentials: %T is not a socket", c)
	}
	if _, ok := c.(*net.UnixConn); !ok {
		return Creds{}, fmt.Errorf("peer credentials: %T is not a unix socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Creds{}, fmt.Errorf("peer credentials: %w", err)
	}
	var (
		cred         *unix.Ucred
		groups       []uint32
		gerr, grpErr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if gerr == nil {
			groups, grpErr = peerGroups(int(fd))
		}
	}); err != nil {
		return Creds{}, fmt.Errorf("peer credentials: %w", err)
	}
	if gerr != nil {
		return Creds{}, fmt.Errorf("peer credentials: SO_PEERCRED: %w", gerr)
	}
	cr := Creds{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}
	switch {
	case grpErr == nil:
		cr.Groups, cr.HaveGroups = groups, true
	case errors.Is(grpErr, unix.ENOPROTOOPT):
		// an old kernel: the Authorizer reads /proc/PID/status
	default:
		return Creds{}, fmt.Errorf("peer credentials: SO_PEERGROUPS: %w", grpErr)
	}
	return cr, nil
}

type credsKey struct{}

// credsResult is what ConnContext stashed: the creds or why there are none.
type credsResult struct {
	creds Creds
	err   error
}

func withCreds(ctx context.Context, r credsResult) context.Context {
	return context.WithValue(ctx, credsKey{}, r)
}

func credsFrom(ctx context.Context) (Creds, error) {
	r, ok := ctx.Value(credsKey{}).(credsResult)
	if !ok {
		return Creds{}, fmt.Errorf("no peer credentials for this connection")
	}
	return r.creds, r.err
}
