package tc

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
)

// Usage reads the traffic of the container behind hostVeth (see NetUsage).
// A direction that is not shaped reports zero drops, overlimits and backlog;
// a missing veth (the container is gone) or an unreadable counter is an
// error, never a zero.
func (s *Shaper) Usage(ctx context.Context, hostVeth string) (NetUsage, error) {
	var u NetUsage
	if err := ctx.Err(); err != nil {
		return u, err
	}
	veth, err := s.h.LinkByName(hostVeth)
	if err != nil {
		return u, fmt.Errorf("usage of %s: %w", hostVeth, err)
	}
	st := veth.Attrs().Statistics
	if st == nil {
		return u, fmt.Errorf("usage of %s: no link statistics", hostVeth)
	}
	// The host veth receives what the container sends.
	u.TxBytes, u.TxPackets = st.RxBytes, st.RxPackets
	u.RxBytes, u.RxPackets = st.TxBytes, st.TxPackets
	for _, d := range []direction{dirEgress, dirIngress} {
		r, err := s.ourFilter(veth, d)
		if err != nil {
			return u, fmt.Errorf("usage of %s: %w", hostVeth, err)
		}
		if r == nil {
			continue
		}
		ifb, err := s.h.LinkByIndex(r.ifindex)
		if err != nil {
			return u, fmt.Errorf("usage of %s: IFB ifindex %d: %w", hostVeth, r.ifindex, err)
		}
		classes, err := s.listClasses(ifb)
		if err != nil {
			return u, fmt.Errorf("usage of %s: %w", hostVeth, err)
		}
		var leaf *netlink.HtbClass
		for _, c := range classes {
			if c.Handle == leafHandle(r.minor) {
				leaf = c
			}
		}
		if leaf == nil || leaf.Statistics == nil || leaf.Statistics.Queue == nil {
			return u, fmt.Errorf("usage of %s: no stats for class %s on %s", hostVeth,
				netlink.HandleStr(leafHandle(r.minor)), ifb.Attrs().Name)
		}
		q := leaf.Statistics.Queue
		if d == dirEgress {
			u.TxDrops, u.TxOverlimits, u.TxBacklog = uint64(q.Drops), uint64(q.Overlimits), uint64(q.Backlog)
		} else {
			u.RxDrops, u.RxOverlimits, u.RxBacklog = uint64(q.Drops), uint64(q.Overlimits), uint64(q.Backlog)
		}
	}
	return u, nil
}
