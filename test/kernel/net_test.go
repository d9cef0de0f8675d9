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
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/quell-dev/quell/limits/tc"
	"github.com/quell-dev/quell/test/labkit"
)

// netBox is a "container" network; the helpers are labkit's.
type netBox = labkit.NetBox

// newNetBox makes namespace + veth pair n: host side qv<n> 10.77.<n>.1/30,
// box side eth0 10.77.<n>.2/30; removed at cleanup.
func newNetBox(t *testing.T, n int) *netBox {
	t.Helper()
	b, err := labkit.NewNetBox(fmt.Sprintf("qv%d", n), fmt.Sprintf("10.77.%d.1", n), fmt.Sprintf("10.77.%d.2", n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// wireBytes is what crossed the boxes' host veths in the direction, frames
// with their headers as the shaper counts them, from the link counters.
func wireBytes(t *testing.T, boxes []*netBox, fromBox bool) float64 {
	var sum float64
	for _, b := range boxes {
		n, err := b.WireBytes(fromBox)
		if err != nil {
			t.Fatal(err)
		}
		sum += n
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
		if err := b.Stream(ctx, fromBox, &count); err != nil {
			t.Fatal(err)
		}
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
	info, err := tc.NetworkOfNS(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(b.NS)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Interface != "eth0" || info.HostVeth != b.HostVeth {
		t.Fatalf("NetworkOf = %+v, want eth0 ↔ %s", info, b.HostVeth)
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
		if _, err := sh.Apply(ctx, "c2", b.HostVeth, spec); err != nil {
			t.Fatalf("apply %d Mbit: %v", mbit, err)
		}
		if changed, err := sh.Apply(ctx, "c2", b.HostVeth, spec); err != nil || changed {
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
	assertNoShaping(t, b.HostVeth, "t1")
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
		if _, err := sh.Apply(ctx, id, b.HostVeth, spec); err != nil {
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
	assertNoShaping(t, b1.HostVeth, "t2")
	assertNoShaping(t, b2.HostVeth, "t2")
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
