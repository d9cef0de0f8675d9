package tc

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// dumpRetries bounds retries of a netlink dump interrupted by a concurrent
// change (netlink.ErrDumpInterrupted).
const dumpRetries = 5

// retryDump calls f until it returns something other than
// netlink.ErrDumpInterrupted, at most dumpRetries times. If every attempt was
// interrupted, the last (possibly partial) result is discarded and the error
// is returned: a partial list must not look like "nothing there".
func retryDump[T any](what string, f func() (T, error)) (T, error) {
	var v T
	var err error
	for range dumpRetries {
		v, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	var zero T
	return zero, fmt.Errorf("%s: interrupted %d times: %w", what, dumpRetries, err)
}

// NetworkOf finds the network of the container whose init process is pid:
// see NetworkOfNS, with /proc/<pid>/ns/net.
func NetworkOf(pid int) (NetInfo, error) {
	return NetworkOfNS(fmt.Sprintf("/proc/%d/ns/net", pid))
}

// NetworkOfNS finds, in the network namespace at nsPath, the container's
// interface (eth0, else the lowest-indexed interface other than lo) and the
// host-side peer of that veth in the calling process's namespace. It never
// switches a thread's namespace: it talks netlink through a socket opened in
// the container's namespace.
//
// It fails if the namespace cannot be opened (the container is gone), if it
// has no interface but lo, or (wrapping ErrNotVeth) if the interface is not
// a veth or its peer is not a veth in the host namespace pointing back at it.
func NetworkOfNS(nsPath string) (NetInfo, error) {
	info := NetInfo{NetnsPath: nsPath}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return info, fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	in, err := netlink.NewHandleAt(ns)
	if err != nil {
		return info, fmt.Errorf("netlink in %s: %w", nsPath, err)
	}
	defer in.Close()
	links, err := retryDump("list links in "+nsPath, in.LinkList)
	if err != nil {
		return info, err
	}
	link := pickContainerLink(links)
	if link == nil {
		return info, fmt.Errorf("netns %s has no interface but lo", nsPath)
	}
	a := link.Attrs()
	info.Interface, info.InterfaceIndex = a.Name, a.Index
	if link.Type() != "veth" {
		return info, fmt.Errorf("%s in %s is %s: %w", a.Name, nsPath, link.Type(), ErrNotVeth)
	}
	// In the container's namespace, a veth's IFLA_LINK is the ifindex of its
	// peer in the peer's namespace.
	if a.ParentIndex == 0 {
		return info, fmt.Errorf("%s in %s has no peer index: %w", a.Name, nsPath, ErrNotVeth)
	}
	host, err := netlink.NewHandle()
	if err != nil {
		return info, fmt.Errorf("netlink in host netns: %w", err)
	}
	defer host.Close()
	peer, err := host.LinkByIndex(a.ParentIndex)
	if err != nil {
		return info, fmt.Errorf("host peer of %s (ifindex %d): %w", a.Name, a.ParentIndex, err)
	}
	pa := peer.Attrs()
	if peer.Type() != "veth" || pa.ParentIndex != a.Index {
		return info, fmt.Errorf("host ifindex %d (%s, %s) is not the peer of %s: %w",
			a.ParentIndex, pa.Name, peer.Type(), a.Name, ErrNotVeth)
	}
	info.HostVeth, info.HostVethIndex = pa.Name, pa.Index
	return info, nil
}

// pickContainerLink returns eth0 if present, else the lowest-indexed link
// that is not loopback, else nil.
func pickContainerLink(links []netlink.Link) netlink.Link {
	var rest []netlink.Link
	for _, l := range links {
		a := l.Attrs()
		if a.Name == "eth0" {
			return l
		}
		if a.Name != "lo" && a.Flags&net.FlagLoopback == 0 {
			rest = append(rest, l)
		}
	}
	slices.SortFunc(rest, func(a, b netlink.Link) int { return a.Attrs().Index - b.Attrs().Index })
	if len(rest) == 0 {
		return nil
	}
	return rest[0]
}
