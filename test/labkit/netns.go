package labkit

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NetBox is a "container" network: a network namespace joined to the
// host's by a veth pair, HostVeth on the host and eth0 in the box, with
// HostIP and BoxIP on a /30 between them.
type NetBox struct {
	NS       netns.NsHandle
	HostVeth string
	HostIP   string
	BoxIP    string
}

// InNetns runs f on an OS thread locked into ns, then returns the thread
// to the namespace it came from (the thread is discarded if that fails).
// A socket made in f stays in ns.
func InNetns(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		ferr := f()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// NewNetBox makes a fresh network namespace and joins it to the host's
// with JoinNetBox. Close removes both.
func NewNetBox(hostVeth, hostIP, boxIP string) (*NetBox, error) {
	var ns netns.NsHandle
	errc := make(chan error, 1)
	go func() { // netns.New switches the calling thread: keep it off the caller's threads
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err = netns.New()
		if err == nil {
			if err = netns.Set(orig); err == nil {
				runtime.UnlockOSThread()
			}
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("new netns: %w", err)
	}
	b, err := JoinNetBox(ns, hostVeth, hostIP, boxIP)
	if err != nil {
		ns.Close()
		return nil, err
	}
	return b, nil
}

// JoinNetBox joins the namespace ns (a new one, or a container's) to the
// host's: the veth pair hostVeth ↔ eth0 in ns, hostIP/30 and boxIP/30 on
// them, both ends and the box's lo up. The NetBox then owns ns (Close
// closes it). On an error the veth pair is removed and ns is left open.
func JoinNetBox(ns netns.NsHandle, hostVeth, hostIP, boxIP string) (*NetBox, error) {
	b := &NetBox{NS: ns, HostVeth: hostVeth, HostIP: hostIP, BoxIP: boxIP}
	la := netlink.NewLinkAttrs()
	la.Name = hostVeth
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}); err != nil {
		return nil, fmt.Errorf("veth %s: %w", hostVeth, err)
	}
	if err := b.address(); err != nil {
		b.removeVeth()
		return nil, fmt.Errorf("veth %s: %w", hostVeth, err)
	}
	return b, nil
}

func (b *NetBox) address() error {
	host, err := netlink.LinkByName(b.HostVeth)
	if err != nil {
		return err
	}
	addr, err := netlink.ParseAddr(b.HostIP + "/30")
	if err != nil {
		return err
	}
	baddr, err := netlink.ParseAddr(b.BoxIP + "/30")
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(host, addr); err != nil {
		return fmt.Errorf("host addr: %w", err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("host up: %w", err)
	}
	h, err := netlink.NewHandleAt(b.NS)
	if err != nil {
		return fmt.Errorf("handle in box: %w", err)
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("box eth0: %w", err)
	}
	if err := h.AddrAdd(eth0, baddr); err != nil {
		return fmt.Errorf("box addr: %w", err)
	}
	if err := h.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("box up: %w", err)
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	return nil
}

func (b *NetBox) removeVeth() {
	if l, err := netlink.LinkByName(b.HostVeth); err == nil {
		_ = netlink.LinkDel(l)
	}
}

// Close removes the veth pair and closes the namespace handle; a second
// Close does nothing more.
func (b *NetBox) Close() {
	b.removeVeth()
	b.NS.Close() // sets NS to -1
}

// Stream sends TCP as fast as it can across the veth until ctx ends: from
// the box to a sink on the host when egress, from the host to a sink in
// the box otherwise. The sink adds the payload bytes it reads to received
// (when not nil).
func (b *NetBox) Stream(ctx context.Context, egress bool, received *atomic.Int64) error {
	sinkIP, inSink := b.HostIP, func(f func() error) error { return f() }
	inSrc := func(f func() error) error { return InNetns(b.NS, f) }
	if !egress {
		sinkIP, inSink, inSrc = b.BoxIP, inSrc, inSink
	}
	var ln net.Listener
	if err := inSink(func() (err error) { ln, err = net.Listen("tcp", sinkIP+":0"); return err }); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf)
					if received != nil {
						received.Add(int64(n))
					}
					if err != nil || ctx.Err() != nil {
						return
					}
				}
			}()
		}
	}()
	var c net.Conn
	addr := ln.Addr().String()
	if err := inSrc(func() (err error) { c, err = net.Dial("tcp", addr); return err }); err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	go func() { <-ctx.Done(); c.Close() }()
	go func() {
		buf := make([]byte, 64<<10)
		for ctx.Err() == nil {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

// WireBytes is what has crossed the host veth in the direction so far:
// frames with their headers, as a shaper counts them, from the link
// counters (the host end receives what the box sends).
func (b *NetBox) WireBytes(egress bool) (float64, error) {
	l, err := netlink.LinkByName(b.HostVeth)
	if err != nil {
		return 0, err
	}
	if egress {
		return float64(l.Attrs().Statistics.RxBytes), nil
	}
	return float64(l.Attrs().Statistics.TxBytes), nil
}
