//go:build lab

// Real-kernel tests of limits' network shaping. A "container" is a network
// namespace with a veth pair to the host namespace; the TCP source and sink
// are goroutines of this test, whose sockets are created on a thread locked
// into the right namespace (a socket stays in the namespace it was made in).
// Each test logs "FIGURE net …" lines with achieved/set ratios.
package kernel

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/quell-dev/quell/limits/tc"
)

type netBox struct {
	ns       netns.NsHandle
	hostVeth string
	hostIP   string
	boxIP    string
}

// inNetns runs f on a thread locked into ns, then returns it to the host
// namespace (the thread is discarded if that fails).
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

// newNetBox makes namespace + veth pair n: host side qv<n> 10.77.<n>.1/30,
// box side eth0 10.77.<n>.2/30.
func newNetBox(t *testing.T, n int) *netBox {
	t.Helper()
	var ns netns.NsHandle
	errc := make(chan error, 1)
	go func() { // netns.New switches the calling thread: keep it out of the test's threads
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		ns, err = netns.New()
		if err == nil {
			err = netns.Set(orig)
			if err == nil {
				runtime.UnlockOSThread()
			}
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatalf("new netns: %v", err)
	}
	b := &netBox{ns: ns, hostVeth: fmt.Sprintf("qv%d", n),
		hostIP: fmt.Sprintf("10.77.%d.1", n), boxIP: fmt.Sprintf("10.77.%d.2", n)}
	la := netlink.NewLinkAttrs()
	la.Name = b.hostVeth
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}); err != nil {
		t.Fatalf("veth: %v", err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(b.hostVeth); err == nil {
			netlink.LinkDel(l)
		}
		ns.Close()
	})
	host, _ := netlink.LinkByName(b.hostVeth)
	addr, _ := netlink.ParseAddr(b.hostIP + "/30")
	must := func(err error, what string) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must(netlink.AddrAdd(host, addr), "host addr")
	must(netlink.LinkSetUp(host), "host up")
	h, err := netlink.NewHandleAt(ns)
	must(err, "handle in box")
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	must(err, "box eth0")
	baddr, _ := netlink.ParseAddr(b.boxIP + "/30")
	must(h.AddrAdd(eth0, baddr), "box addr")
	must(h.LinkSetUp(eth0), "box up")
	if lo, err := h.LinkByName("lo"); err == nil {
		h.LinkSetUp(lo)
	}
	return b
}

// listen opens a TCP listener in ns (host if !inBox) and counts received
// bytes into *count until ctx ends.
func netSink(t *testing.T, ctx context.Context, b *netBox, inBox bool, count *atomic.Int64) string {
	t.Helper()
	ip := b.hostIP
	var ln net.Listener
	mk := func() (err error) { ln, err = net.Listen("tcp", ip+":0"); return err }
	var err error
	if inBox {
		ip = b.boxIP
		err = inNetns(b.ns, mk)
	} else {
		err = mk()
	}
	if err != nil {
		t.Fatalf("listen: %v", err)
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
					count.Add(int64(n))
					if err != nil || ctx.Err() != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// netSource sends as fast as it can to addr from the box (fromBox) or the
// host until ctx ends.
func netSource(t *testing.T, ctx context.Context, b *netBox, fromBox bool, addr string) {
	t.Helper()
	var c net.Conn
	dial := func() (err error) { c, err = net.Dial("tcp", addr); return err }
	var err error
	if fromBox {
		err = inNetns(b.ns, dial)
	} else {
		err = dial()
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
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
}

// wireBytes is what crossed the boxes' host veths in the direction, frames
// with their headers as the shaper counts them, from the link counters.
func wireBytes(t *testing.T, boxes []*netBox, fromBox bool) float64 {
	var sum float64
	for _, b := range boxes {
		l, err := netlink.LinkByName(b.hostVeth)
		if err != nil {
			t.Fatal(err)
		}
		if fromBox {
			sum += float64(l.Attrs().Statistics.RxBytes)
		} else {
			sum += float64(l.Attrs().Statistics.TxBytes)
		}
	}
	return sum
}

// measure runs one full-speed TCP stream per box for d and returns the
// wire bits/s over d (link counters), the bits in the first second, and the
// TCP payload bits/s the sinks received, summed over boxes.
func measure(t *testing.T, boxes []*netBox, fromBox bool, d time.Duration) (rate, first float64) {
	r, f, g := measure3(t, boxes, fromBox, d)
	t.Logf("  %s wire %.2f Mbit/s, TCP payload %.2f Mbit/s", dirName(fromBox), r/1e6, g/1e6)
	return r, f
}

func measure3(t *testing.T, boxes []*netBox, fromBox bool, d time.Duration) (rate, first, goodput float64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var count atomic.Int64
	for _, b := range boxes {
		addr := netSink(t, ctx, b, !fromBox, &count)
		netSource(t, ctx, b, fromBox, addr)
	}
	w0 := wireBytes(t, boxes, fromBox)
	start := time.Now()
	time.Sleep(time.Second)
	first = (wireBytes(t, boxes, fromBox) - w0) * 8
	time.Sleep(d - time.Second)
	el := time.Since(start).Seconds()
	rate = (wireBytes(t, boxes, fromBox) - w0) * 8 / el
	goodput = float64(count.Load()) * 8 / el
	return rate, first, goodput
}

func dirName(fromBox bool) string {
	if fromBox {
		return "egress"
	}
	return "ingress"
}

func TestNetworkOfFindsHostVeth(t *testing.T) {
	b := newNetBox(t, 1)
	info, err := tc.NetworkOfNS(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(b.ns)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Interface != "eth0" || info.HostVeth != b.hostVeth {
		t.Fatalf("NetworkOf = %+v, want eth0 ↔ %s", info, b.hostVeth)
	}
}

func TestNetShapesEachDirection(t *testing.T) {
	b := newNetBox(t, 2)
	base := map[bool]float64{}
	for _, fromBox := range []bool{true, false} {
		r, _ := measure(t, []*netBox{b}, fromBox, 4*time.Second)
		base[fromBox] = r
		t.Logf("FIGURE net unshaped %s %.1f Mbit/s", dirName(fromBox), r/1e6)
	}
	sh, err := tc.NewShaper("")
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	ctx := context.Background()
	for _, mbit := range []uint64{10, 50, 200} {
		set := mbit * 1_000_000
		spec := tc.NetSpec{Tenant: "t1", EgressBits: set, IngressBits: set}
		if _, err := sh.Apply(ctx, "c2", b.hostVeth, spec); err != nil {
			t.Fatalf("apply %d Mbit: %v", mbit, err)
		}
		if changed, err := sh.Apply(ctx, "c2", b.hostVeth, spec); err != nil || changed {
			t.Errorf("re-apply %d Mbit: changed=%v err=%v, want no change", mbit, changed, err)
		}
		for _, fromBox := range []bool{true, false} {
			r, first := measure(t, []*netBox{b}, fromBox, 10*time.Second)
			ratio := r / float64(set)
			t.Logf("FIGURE net %s set %d Mbit achieved %.2f Mbit/s ratio %.3f first-second %.2f Mbit (%.2fx)",
				dirName(fromBox), mbit, r/1e6, ratio, first/1e6, first/float64(set))
			if float64(set) > 0.9*base[fromBox] {
				t.Errorf("%s %d Mbit: unshaped path only reaches %.1f Mbit/s in this guest; cannot prove this rate",
					dirName(fromBox), mbit, base[fromBox]/1e6)
				continue
			}
			if ratio < 0.95 || ratio > 1.05 {
				t.Errorf("%s %d Mbit: achieved %.2f Mbit/s, ratio %.3f outside ±5%%", dirName(fromBox), mbit, r/1e6, ratio)
			}
			if first > 2*float64(set) {
				t.Errorf("%s %d Mbit: first second carried %.2f Mbit (> 2x)", dirName(fromBox), mbit, first/1e6)
			}
		}
	}
	if _, err := sh.Remove(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	assertNoShaping(t, b.hostVeth, "t1")
}

func TestNetTenantAggregate(t *testing.T) {
	b1, b2 := newNetBox(t, 3), newNetBox(t, 4)
	sh, err := tc.NewShaper("")
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	ctx := context.Background()
	const set = 100_000_000
	spec := tc.NetSpec{Tenant: "t2", TenantEgressBits: set, TenantIngressBits: set}
	for id, b := range map[string]*netBox{"c3": b1, "c4": b2} {
		if _, err := sh.Apply(ctx, id, b.hostVeth, spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, fromBox := range []bool{true, false} {
		r, _ := measure(t, []*netBox{b1, b2}, fromBox, 10*time.Second)
		ratio := r / set
		t.Logf("FIGURE net tenant %s set 100 Mbit two containers achieved %.2f Mbit/s ratio %.3f", dirName(fromBox), r/1e6, ratio)
		if ratio < 0.95 || ratio > 1.05 {
			t.Errorf("tenant %s: %.2f Mbit/s, ratio %.3f outside ±5%%", dirName(fromBox), r/1e6, ratio)
		}
	}
	for _, id := range []string{"c3", "c4"} {
		if _, err := sh.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	assertNoShaping(t, b1.hostVeth, "t2")
	assertNoShaping(t, b2.hostVeth, "t2")
}

// assertNoShaping checks that no quell IFB is left and veth has no qdisc
// but its default.
func assertNoShaping(t *testing.T, veth, tenant string) {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Type() == "ifb" && strings.HasPrefix(l.Attrs().Alias, "quell tenant="+tenant+" ") {
			t.Errorf("IFB %s (%s) left behind", l.Attrs().Name, l.Attrs().Alias)
		}
	}
	l, err := netlink.LinkByName(veth)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := netlink.QdiscList(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Type() == "clsact" || q.Type() == "ingress" || q.Type() == "htb" {
			t.Errorf("%s qdisc left on %s", q.Type(), veth)
		}
	}
}
