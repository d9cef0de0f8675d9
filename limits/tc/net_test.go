package tc

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestHTBClassUnits(t *testing.T) {
	t.Parallel()
	// 10 Mbit/s in, 1.25 MB/s stored: NewHtbClass divides by 8.
	c := htbClass(3, netlink.MakeHandle(1, 1), netlink.MakeHandle(1, 0x10), 10_000_000, 50_000_000)
	if c.Rate != 1_250_000 || c.Ceil != 6_250_000 {
		t.Fatalf("rate/ceil = %d/%d bytes/s, want 1250000/6250000", c.Rate, c.Ceil)
	}
	// Buffer is in ticks: sending burstBytes at the rate takes that long.
	if got, want := c.Buffer, netlink.Xmittime(c.Rate, burstBytes(10_000_000)); got != want {
		t.Fatalf("buffer = %d ticks, want %d", got, want)
	}
	// Ceil below rate is raised to the rate.
	if c := htbClass(3, 0, 0, 8_000_000, 1); c.Ceil != c.Rate {
		t.Fatalf("ceil %d < rate %d", c.Ceil, c.Rate)
	}
	if !sameHTB(c, htbClass(3, netlink.MakeHandle(1, 1), netlink.MakeHandle(1, 0x10), 10_000_000, 50_000_000)) {
		t.Fatal("same parameters do not compare equal")
	}
	if sameHTB(c, htbClass(3, netlink.MakeHandle(1, 1), netlink.MakeHandle(1, 0x10), 20_000_000, 50_000_000)) {
		t.Fatal("different rates compare equal")
	}
}

func TestBurstBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		bits uint64
		want uint32
	}{
		{1_000_000, minBurstBytes},  // floor: 10 frames
		{10_000_000, minBurstBytes}, // 12.5 KB < 15.1 KB floor
		{50_000_000, 62_500},        // 10 ms
		{200_000_000, 250_000},      // 10 ms
		{unlimitedBits, 42_949_672}, // 10 ms of ~34 Gbit
	} {
		if got := burstBytes(tc.bits); got != tc.want {
			t.Errorf("burstBytes(%d) = %d, want %d", tc.bits, got, tc.want)
		}
		// The promise a user notices: the first second never carries more
		// than 2x the rate, for any rate from 128 kbit up.
		if tc.bits >= 128_000 && float64(burstBytes(tc.bits)) > float64(tc.bits)/8 {
			t.Errorf("burst at %d bit/s exceeds one second of traffic", tc.bits)
		}
	}
}

func TestQuantum(t *testing.T) {
	t.Parallel()
	if q := quantum(100_000); q != minQuantum {
		t.Errorf("quantum(100kbit) = %d", q)
	}
	if q := quantum(10_000_000); q != 125_000 {
		t.Errorf("quantum(10Mbit) = %d", q)
	}
	if q := quantum(10_000_000_000); q != maxQuantum {
		t.Errorf("quantum(10Gbit) = %d", q)
	}
}

func TestPlanTenant(t *testing.T) {
	t.Parallel()
	const M = 1_000_000
	rate, plans := planTenant(100*M, []leafWant{{Minor: 0x11, Cap: 0}, {Minor: 0x10, Cap: 30 * M}})
	if rate != 100*M {
		t.Fatalf("tenant rate = %d", rate)
	}
	want := []leafPlan{{0x10, 30 * M, 30 * M}, {0x11, 50 * M, 100 * M}}
	if len(plans) != 2 || plans[0] != want[0] || plans[1] != want[1] {
		t.Fatalf("plans = %+v, want %+v", plans, want)
	}
	var sum uint64
	for _, p := range plans {
		sum += p.Rate
	}
	if sum > rate {
		t.Fatalf("assured rates sum to %d > tenant %d: HTB would exceed the tenant cap", sum, rate)
	}
	// No tenant cap: each leaf gets exactly its own cap.
	rate, plans = planTenant(0, []leafWant{{Minor: 0x10, Cap: 10 * M}})
	if rate != unlimitedBits || plans[0].Rate != 10*M || plans[0].Ceil != 10*M {
		t.Fatalf("uncapped tenant: %d %+v", rate, plans)
	}
	// Very many leaves: the assured rate stays positive.
	_, plans = planTenant(10_000, []leafWant{{0x10, 0}, {0x11, 0}, {0x12, 0}})
	if plans[0].Rate != minLeafBits {
		t.Fatalf("tiny share = %d", plans[0].Rate)
	}
}

func TestFreeMinor(t *testing.T) {
	t.Parallel()
	m, ok := freeMinor(map[uint16]bool{0x10: true, 0x12: true})
	if !ok || m != 0x11 {
		t.Fatalf("freeMinor = %#x %v", m, ok)
	}
	full := map[uint16]bool{}
	for i := firstLeafMinor; i <= maxLeafMinor; i++ {
		full[uint16(i)] = true
	}
	if _, ok := freeMinor(full); ok {
		t.Fatal("full IFB reported a free minor")
	}
	if leafHandle(0x10) != 0x10010 || leafQdiscHandle(0x10) != 0x100000 {
		t.Fatalf("handles %#x %#x", leafHandle(0x10), leafQdiscHandle(0x10))
	}
}

func TestIFBName(t *testing.T) {
	t.Parallel()
	e, i := ifbName("a-very-long-tenant-name-indeed", dirEgress), ifbName("a-very-long-tenant-name-indeed", dirIngress)
	if len(e) != 11 || len(i) != 11 || e[:3] != "qle" || i[:3] != "qli" || e[3:] != i[3:] {
		t.Fatalf("names %q %q", e, i)
	}
	if ifbName("acme", dirEgress) == ifbName("acne", dirEgress) {
		t.Fatal("different tenants share an IFB name")
	}
	if got := ifbAlias("acme", dirIngress); got != "quell tenant=acme dir=ingress" {
		t.Fatalf("alias %q", got)
	}
}

func TestRedirectRoundTrip(t *testing.T) {
	t.Parallel()
	want := redirect{ifindex: 42, minor: 0x1234}
	f := wantFilter(7, dirIngress, want)
	if f.Parent != netlink.HANDLE_MIN_EGRESS || f.Priority != NetFilterPrio {
		t.Fatalf("filter attrs %+v", f.FilterAttrs)
	}
	if f.Actions[0].Attrs().Action != netlink.TC_ACT_PIPE {
		t.Fatal("skbedit must pipe to mirred")
	}
	got, ok := parseRedirect(f)
	if !ok || got != want {
		t.Fatalf("parseRedirect = %+v %v", got, ok)
	}
	if _, ok := parseRedirect(&netlink.MatchAll{}); ok {
		t.Fatal("foreign filter parsed as quell's")
	}
	if wantFilter(7, dirEgress, want).Parent != netlink.HANDLE_MIN_INGRESS {
		t.Fatal("egress (from the container) must hook the veth's ingress")
	}
}

func TestPickContainerLink(t *testing.T) {
	t.Parallel()
	mk := func(name string, idx int, flags net.Flags) netlink.Link {
		return &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, Index: idx, Flags: flags}}
	}
	lo := mk("lo", 1, net.FlagLoopback)
	if l := pickContainerLink([]netlink.Link{lo, mk("net1", 5, 0), mk("eth0", 9, 0)}); l.Attrs().Name != "eth0" {
		t.Fatalf("picked %s, want eth0", l.Attrs().Name)
	}
	if l := pickContainerLink([]netlink.Link{lo, mk("net7", 7, 0), mk("net3", 3, 0)}); l.Attrs().Name != "net3" {
		t.Fatalf("picked %s, want net3", l.Attrs().Name)
	}
	if l := pickContainerLink([]netlink.Link{lo}); l != nil {
		t.Fatalf("picked %s from lo only", l.Attrs().Name)
	}
}

func TestApplyRejectsBadTenant(t *testing.T) {
	t.Parallel()
	s := &Shaper{shaped: map[string]shapedContainer{}}
	if _, err := s.Apply(t.Context(), "c1", "veth0", NetSpec{Tenant: "Bad Name"}); err == nil {
		t.Fatal("bad tenant accepted")
	}
}

func TestTopLevelParentIsRoot(t *testing.T) {
	t.Parallel()
	want := htbClass(3, netlink.MakeHandle(1, 0), netlink.MakeHandle(1, 1), 100_000_000, 100_000_000)
	have := *want
	have.Parent = netlink.HANDLE_ROOT // as the kernel lists it
	if !sameHTB(&have, want) {
		t.Fatal("tenant class listed under TC_H_ROOT not recognised: every Apply would rewrite it")
	}
}

func TestCodelParams(t *testing.T) {
	t.Parallel()
	if tg, iv := codelParams(1_000_000_000); tg != 5000 || iv != 100_000 {
		t.Errorf("1 Gbit: %d/%d", tg, iv)
	}
	if tg, iv := codelParams(10_000_000); tg != 104857 || iv != 20*104857 {
		t.Errorf("10 Mbit: %d/%d", tg, iv)
	}
}

func TestIsQuellIFB(t *testing.T) {
	t.Parallel()
	mk := func(typ, name, alias string) netlink.Link {
		la := netlink.NewLinkAttrs()
		la.Name, la.Alias = name, alias
		if typ == "ifb" {
			return &netlink.Ifb{LinkAttrs: la}
		}
		return &netlink.Veth{LinkAttrs: la}
	}
	acme := ifbName("acme", dirEgress)
	for _, tc := range []struct {
		l    netlink.Link
		want bool
	}{
		{mk("ifb", acme, ifbAlias("acme", dirEgress)), true},
		{mk("ifb", ifbName("acme", dirIngress), ifbAlias("acme", dirIngress)), true},
		{mk("ifb", acme, ""), false},                           // someone else's IFB of that name
		{mk("ifb", acme, ifbAlias("other", dirEgress)), false}, // alias of another tenant
		{mk("ifb", acme, ifbAlias("acme", dirIngress)), false}, // wrong direction
		{mk("veth", acme, ifbAlias("acme", dirEgress)), false},
		{mk("ifb", "ifb0", "quell tenant=acme dir=egress"), false},
	} {
		if got := isQuellIFB(tc.l); got != tc.want {
			t.Errorf("isQuellIFB(%s %q alias %q) = %v", tc.l.Type(), tc.l.Attrs().Name, tc.l.Attrs().Alias, got)
		}
	}
}
