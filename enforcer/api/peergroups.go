package api

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// peerGroups reads SO_PEERGROUPS of a connected Unix socket: the
// supplementary groups of the peer when it called connect(). x/sys/unix has
// no wrapper for it; the kernel answers ERANGE with the size it needs when
// the buffer is too small, and ENOPROTOOPT before Linux 4.13.
func peerGroups(fd int) ([]uint32, error) {
	buf := make([]uint32, 64)
	for {
		n := uint32(len(buf) * 4)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		if errno == unix.ERANGE && int(n) > len(buf)*4 {
			buf = make([]uint32, (n+3)/4)
			continue
		}
		if errno != 0 {
			return nil, errno
		}
		return buf[: n/4 : n/4], nil
	}
}
