package tc

import (
	"math"
	"slices"

	"github.com/vishvananda/netlink"
)

// HTB units. netlink.NewHtbClass takes Rate and Ceil in bits/s and Buffer
// and Cbuffer in bytes, and returns an HtbClass whose Rate and Ceil are in
// bytes/s and whose Buffer and Cbuffer are in scheduler ticks — the units the
// kernel stores and ClassList returns (vishvananda/netlink#235). Everything
// quell compares is therefore in the kernel's units, built by NewHtbClass.

const (
	// netMTU is the largest frame the burst floor is sized for.
	netMTU = 1514
	// burstWindow is how long a class may send at line speed after idling:
	// burst = max(rate × 10 ms, 10 × MTU). 10 ms covers the timer and
	// scheduling latency of a loaded (or emulated) host, so HTB still reaches
	// its rate, while the excess in the first second is at most 1 % of the
	// rate above 12 Mbit and at most 15 KB below it: a 10 Mbit container
	// cannot send more than 1.27 MB in its first second. (The Kubernetes
	// bandwidth plugin's default burst of MaxInt32 bytes let a 10 Mbit pod
	// send hundreds of Mbit until the bucket emptied.)
	burstWindowDiv = 100 // 1 s / 10 ms
	minBurstBytes  = 10 * netMTU
	// unlimitedBits stands for "no tenant cap": the largest rate HTB keeps
	// without the 64-bit attribute, about 34 Gbit/s.
	unlimitedBits = uint64(math.MaxUint32) * 8
	// minLeafBits keeps a leaf's assured rate positive when a tenant's cap
	// is split between very many containers.
	minLeafBits = 8000
	// Quantum bounds: the kernel warns outside 1000..200000 bytes.
	minQuantum = netMTU
	maxQuantum = 200000
)

// burstBytes is the HTB bucket depth for a rate in bits/s (see burstWindowDiv).
func burstBytes(rateBits uint64) uint32 {
	b := rateBits / 8 / burstWindowDiv
	if b < minBurstBytes {
		b = minBurstBytes
	}
	if b > math.MaxUint32 {
		b = math.MaxUint32
	}
	return uint32(b)
}

// quantum is the DRR quantum for borrowing siblings: rate/10 bytes, clamped.
func quantum(rateBits uint64) uint32 {
	q := rateBits / 8 / 10
	return uint32(min(max(q, minQuantum), maxQuantum))
}

// htbClass builds the HTB class parent→handle with rate and ceil in bits/s,
// in the kernel's units (bytes/s, ticks).
func htbClass(link int, parent, handle uint32, rateBits, ceilBits uint64) *netlink.HtbClass {
	ceilBits = max(ceilBits, rateBits)
	return netlink.NewHtbClass(netlink.ClassAttrs{LinkIndex: link, Parent: parent, Handle: handle},
		netlink.HtbClassAttrs{
			Rate:    rateBits,
			Ceil:    ceilBits,
			Buffer:  burstBytes(rateBits),
			Cbuffer: burstBytes(ceilBits),
			Quantum: quantum(rateBits),
		})
}

// sameHTB reports whether a listed class already has want's parameters.
// Buffers are compared within one tick for the ns↔tick rounding.
func sameHTB(have, want *netlink.HtbClass) bool {
	near := func(a, b uint32) bool { return a == b || a == b+1 || b == a+1 }
	// The kernel reports a top-level class's parent as TC_H_ROOT, whatever
	// qdisc handle it was created under.
	parentOK := have.Parent == want.Parent ||
		(want.Parent&0xffff == 0 && have.Parent == netlink.HANDLE_ROOT)
	return parentOK && have.Rate == want.Rate && have.Ceil == want.Ceil &&
		near(have.Buffer, want.Buffer) && near(have.Cbuffer, want.Cbuffer) && have.Quantum == want.Quantum
}

// leafWant is one container's leaf on a tenant IFB: its class minor and its
// own cap in bits/s (0 = only the tenant cap applies).
type leafWant struct {
	Minor uint16
	Cap   uint64
}

// leafPlan is the HTB rate/ceil of one leaf, in bits/s.
type leafPlan struct {
	Minor      uint16
	Rate, Ceil uint64
}

// planTenant splits a tenant cap (0 = unlimited) between its leaves. HTB
// lets a leaf send up to its own rate without asking its parent, so the
// rates must sum to no more than the tenant's: each leaf is assured
// tenant/n (or its cap, if lower) and may borrow up to min(cap, tenant).
// The result is sorted by minor.
func planTenant(tenantBits uint64, leaves []leafWant) (tenantRate uint64, plans []leafPlan) {
	tenantRate = tenantBits
	if tenantRate == 0 {
		tenantRate = unlimitedBits
	}
	n := uint64(max(len(leaves), 1))
	share := max(tenantRate/n, minLeafBits)
	for _, l := range leaves {
		ceil := tenantRate
		if l.Cap != 0 && l.Cap < ceil {
			ceil = l.Cap
		}
		plans = append(plans, leafPlan{Minor: l.Minor, Rate: min(share, ceil), Ceil: ceil})
	}
	slices.SortFunc(plans, func(a, b leafPlan) int { return int(a.Minor) - int(b.Minor) })
	return tenantRate, plans
}

// Class IDs on a tenant IFB: root qdisc 1:, tenant class 1:1, leaves 1:<m>
// with m in [firstLeafMinor, maxLeafMinor], and each leaf's fq_codel <m>:.
const (
	rootMajor      = 1
	tenantMinor    = 1
	firstLeafMinor = 0x10
	maxLeafMinor   = 0xfffe
)

// freeMinor returns the lowest leaf minor not in used, or false if the IFB
// is full.
func freeMinor(used map[uint16]bool) (uint16, bool) {
	for m := firstLeafMinor; m <= maxLeafMinor; m++ {
		if !used[uint16(m)] {
			return uint16(m), true
		}
	}
	return 0, false
}

// leafHandle is the HTB class handle 1:<minor>; skbedit writes it into
// skb->priority, which HTB uses as the class.
func leafHandle(minor uint16) uint32 { return netlink.MakeHandle(rootMajor, minor) }

// leafQdiscHandle is the handle of the fq_codel under leaf minor.
func leafQdiscHandle(minor uint16) uint32 { return netlink.MakeHandle(minor, 0) }

// codelParams sizes a leaf's fq_codel for its rate, in µs. HTB dequeues
// whole GSO super-packets (up to 64 KiB) from veths, and at low rates one
// of them takes longer to send than CoDel's default 5 ms target, so CoDel
// would drop packets of a flow that is merely at its rate. The target is
// raised to twice the time 64 KiB takes at the rate (never below 5 ms) and
// the interval to 20 targets (never below 100 ms).
func codelParams(rateBits uint64) (target, interval uint32) {
	const gso = 64 << 10
	t := uint64(5000)
	if rateBits > 0 {
		t = max(t, 2*gso*8*1_000_000/rateBits)
	}
	return uint32(t), uint32(max(100_000, 20*t))
}
