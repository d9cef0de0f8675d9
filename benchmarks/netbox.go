package benchmarks

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netBox is a "container" network: a namespace with a veth pair to the
// host namespace (host side bqv<n> 10.78.<n>.1/30, box side eth0 .2).
type netBox struct {
	ns       netns.NsHandle
	hostVeth string
	hostIP   string
	boxIP    string
}

func inNetns(ns netns.NsHandle, f func() error) error {
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

func newNetBox(n int) (*netBox, error) {
	var ns netns.NsHandle
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
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
	b := &netBox{ns: ns, hostVeth: fmt.Sprintf("bqv%d", n), hostIP: fmt.Sprintf("10.78.%d.1", n), boxIP: fmt.Sprintf("10.78.%d.2", n)}
	la := netlink.NewLinkAttrs()
	la.Name = b.hostVeth
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}); err != nil {
		ns.Close()
		return nil, fmt.Errorf("veth: %w", err)
	}
	host, err := netlink.LinkByName(b.hostVeth)
	if err != nil {
		b.close()
		return nil, err
	}
	addr, _ := netlink.ParseAddr(b.hostIP + "/30")
	baddr, _ := netlink.ParseAddr(b.boxIP + "/30")
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		b.close()
		return nil, err
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	for _, e := range []error{err, netlink.AddrAdd(host, addr), netlink.LinkSetUp(host)} {
		if e != nil {
			b.close()
			return nil, e
		}
	}
	for _, e := range []error{h.AddrAdd(eth0, baddr), h.LinkSetUp(eth0)} {
		if e != nil {
			b.close()
			return nil, e
		}
	}
	return b, nil
}

func (b *netBox) close() {
	if l, err := netlink.LinkByName(b.hostVeth); err == nil {
		_ = netlink.LinkDel(l)
	}
	b.ns.Close()
}

// stream sends as fast as TCP allows across the veth (from the box when
// egress) until ctx ends.
func (b *netBox) stream(ctx context.Context, egress bool) error {
	sinkIP, inSink := b.hostIP, func(f func() error) error { return f() }
	inSrc := func(f func() error) error { return inNetns(b.ns, f) }
	if !egress {
		sinkIP, inSink, inSrc = b.boxIP, inSrc, inSink
	}
	var ln net.Listener
	if err := inSink(func() (err error) { ln, err = net.Listen("tcp", sinkIP+":0"); return err }); err != nil {
		return err
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
				for ctx.Err() == nil {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	var c net.Conn
	if err := inSrc(func() (err error) { c, err = net.Dial("tcp", ln.Addr().String()); return err }); err != nil {
		return err
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

// wire is what crossed the host veth in the direction (link counters,
// frames with headers as the shaper counts them).
func (b *netBox) wire(egress bool) (float64, error) {
	l, err := netlink.LinkByName(b.hostVeth)
	if err != nil {
		return 0, err
	}
	if egress {
		return float64(l.Attrs().Statistics.RxBytes), nil
	}
	return float64(l.Attrs().Statistics.TxBytes), nil
}

// measure streams for d and returns wire bits/s over d and bits in the
// first second.
func (b *netBox) measure(egress bool, d time.Duration) (rate, first float64, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.stream(ctx, egress); err != nil {
		return 0, 0, err
	}
	w0, err := b.wire(egress)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	time.Sleep(time.Second)
	w1, _ := b.wire(egress)
	time.Sleep(d - time.Second)
	w2, _ := b.wire(egress)
	return (w2 - w0) * 8 / time.Since(start).Seconds(), (w1 - w0) * 8, nil
}
