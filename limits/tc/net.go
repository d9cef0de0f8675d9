package tc

// Network shaping: what quell builds in the kernel.
//
// A container's traffic crosses its host-side veth in both directions, so
// that is where quell hooks in. Each host veth gets a clsact qdisc; its two
// hooks hold one matchall filter each (priority NetFilterPrio) whose actions
// are
//
//	skbedit priority 1:<leaf>  (pipe)  →  mirred egress redirect dev <IFB>
//
// The IFB belongs to the container's tenant and direction:
//
//	qle<hash>  traffic FROM the containers (ingress hook of the host veths)
//	qli<hash>  traffic TO the containers   (egress hook of the host veths)
//
// where <hash> is the FNV-32a of the tenant name, and the IFB's alias
// ("quell tenant=<name> dir=<dir>") guards against a hash collision. On each
// IFB a root HTB 1: holds class 1:1, the tenant's aggregate, and under it one
// leaf class 1:<leaf> per container with an fq_codel qdisc <leaf>: under it.
// HTB picks the leaf from skb->priority (set by skbedit), so the IFB needs
// no filters. Because every one of the tenant's host veths redirects into
// the same IFB, the aggregate is shared in both directions; a second pass
// through the host veth after the IFB is not redirected again (the kernel
// sets tc_skip_classify on packets leaving an IFB).
//
// This shapes, it does not police: packets over the rate wait in the leaf's
// fq_codel queue, so TCP sees delay and ECN/drops from CoDel and settles at
// the rate instead of collapsing under tail drops.
//
// Traffic between two containers on the same host leaves one container's
// veth (its egress, shaped on the sender's tenant IFB) and enters the other's
// veth (its ingress, shaped on the receiver's tenant IFB): it never bypasses
// the veths, so it is shaped too, once per end.

import (
	"errors"
	"fmt"
	"hash/fnv"
)

// NetSpec is the desired shaping of one container, in bits per second. Zero
// means "no limit" for that value. A direction with neither a container nor
// a tenant limit is not shaped at all (no filter, no class).
type NetSpec struct {
	Tenant            string // owning tenant; names the tenant's IFBs
	EgressBits        uint64 // from the container (host veth ingress)
	IngressBits       uint64 // to the container (host veth egress)
	TenantEgressBits  uint64 // cap on the sum of the tenant's egress
	TenantIngressBits uint64 // cap on the sum of the tenant's ingress
}

// NetUsage is the traffic of one container, counted from the container's
// point of view: Tx is what it sent, Rx what it received. Bytes and packets
// come from the host veth's link counters; Drops, Overlimits and Backlog
// from the container's HTB leaves (zero for a direction that is not shaped).
type NetUsage struct {
	TxBytes, RxBytes     uint64
	TxPackets, RxPackets uint64
	TxDrops, RxDrops     uint64 // packets dropped by the shaper's queues
	TxOverlimits         uint64 // times the egress leaf was over its rate
	RxOverlimits         uint64
	TxBacklog, RxBacklog uint64 // bytes queued now
}

// NetInfo locates a container's network: its namespace, its own interface
// and the host side of its veth pair.
type NetInfo struct {
	NetnsPath      string // e.g. /proc/1234/ns/net
	Interface      string // inside the container, e.g. eth0
	InterfaceIndex int
	HostVeth       string // the peer in the host namespace
	HostVethIndex  int
}

// NetFilterPrio is the tc filter priority quell's matchall filters use on
// the host veths' clsact hooks. Filters of other priorities are left alone.
const NetFilterPrio = 0x7175

// ErrNotVeth is returned when a container's interface is not one end of a
// veth pair whose other end is in the host namespace (e.g. macvlan, ipvlan,
// or host networking), which quell cannot shape per container.
var ErrNotVeth = errors.New("not a veth pair into the host namespace")

// direction is one way of a container's traffic.
type direction int

const (
	dirEgress  direction = iota // from the container
	dirIngress                  // to the container
)

func (d direction) String() string {
	if d == dirEgress {
		return "egress"
	}
	return "ingress"
}

// ifbName is the tenant's IFB for direction d: "qle"/"qli" and 8 hex digits
// of FNV-32a(tenant), 11 bytes, within IFNAMSIZ.
func ifbName(tenant string, d direction) string {
	h := fnv.New32a()
	h.Write([]byte(tenant))
	p := "qle"
	if d == dirIngress {
		p = "qli"
	}
	return fmt.Sprintf("%s%08x", p, h.Sum32())
}

// ifbAlias is written to the IFB's ifalias and checked before reuse.
func ifbAlias(tenant string, d direction) string {
	return fmt.Sprintf("quell tenant=%s dir=%s", tenant, d)
}

// limits returns the container and tenant limits of direction d.
func (s NetSpec) limits(d direction) (container, tenant uint64) {
	if d == dirEgress {
		return s.EgressBits, s.TenantEgressBits
	}
	return s.IngressBits, s.TenantIngressBits
}
