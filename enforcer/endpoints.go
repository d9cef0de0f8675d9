package enforcer

import (
	"net/netip"
	"path/filepath"
	"strconv"

	"github.com/prometheus/procfs"
)

// tcpEstablished is the kernel's TCP_ESTABLISHED state in /proc/net/tcp.
const tcpEstablished = 1

// endpoints lists the remote ends of established TCP connections in the
// network namespace of pid (read through /proc/<pid>/net, which shows the
// process's own namespace). Unreadable means none known (nil).
func (e *Enforcer) endpoints(pid int) []netip.AddrPort {
	fs, err := procfs.NewFS(filepath.Join(e.cfg.ProcRoot, strconv.Itoa(pid)))
	if err != nil {
		return nil
	}
	var out []netip.AddrPort
	for _, read := range []func() (procfs.NetTCP, error){fs.NetTCP, fs.NetTCP6} {
		conns, err := read()
		if err != nil {
			continue
		}
		for _, c := range conns {
			if c.St != tcpEstablished {
				continue
			}
			if a, ok := netip.AddrFromSlice(c.RemAddr); ok {
				out = append(out, netip.AddrPortFrom(a.Unmap(), uint16(c.RemPort)))
			}
		}
	}
	return out
}
