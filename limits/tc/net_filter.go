package tc

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// hookParent is the clsact hook a direction's filter hangs on: traffic from
// the container enters the host veth (ingress hook), traffic to it leaves
// the host veth (egress hook).
func hookParent(d direction) uint32 {
	if d == dirEgress {
		return netlink.HANDLE_MIN_INGRESS
	}
	return netlink.HANDLE_MIN_EGRESS
}

// redirect is what one of quell's filters does: classify into leaf minor of
// the IFB with ifindex.
type redirect struct {
	ifindex int
	minor   uint16
}

// wantFilter is quell's matchall filter for direction d on link.
func wantFilter(link int, d direction, r redirect) *netlink.MatchAll {
	prio := leafHandle(r.minor)
	return &netlink.MatchAll{
		FilterAttrs: netlink.FilterAttrs{LinkIndex: link, Parent: hookParent(d),
			Priority: NetFilterPrio, Protocol: unix.ETH_P_ALL, Handle: 1},
		Actions: []netlink.Action{
			&netlink.SkbEditAction{ActionAttrs: netlink.ActionAttrs{Action: netlink.TC_ACT_PIPE}, Priority: &prio},
			netlink.NewMirredAction(r.ifindex),
		},
	}
}

// parseRedirect reads back a filter made by wantFilter; ok is false for any
// other filter.
func parseRedirect(f netlink.Filter) (r redirect, ok bool) {
	m, isMA := f.(*netlink.MatchAll)
	if !isMA || len(m.Actions) != 2 {
		return r, false
	}
	se, ok1 := m.Actions[0].(*netlink.SkbEditAction)
	mi, ok2 := m.Actions[1].(*netlink.MirredAction)
	if !ok1 || !ok2 || se.Priority == nil || mi.MirredAction != netlink.TCA_EGRESS_REDIR ||
		*se.Priority>>16 != rootMajor {
		return r, false
	}
	return redirect{ifindex: mi.Ifindex, minor: uint16(*se.Priority)}, true
}

// ourFilters lists the filters of priority NetFilterPrio on d's hook of link.
// A link without clsact has none.
func (s *Shaper) ourFilters(link netlink.Link, d direction) ([]netlink.Filter, error) {
	all, err := retryDump("list filters of "+link.Attrs().Name, func() ([]netlink.Filter, error) {
		return s.h.FilterList(link, hookParent(d))
	})
	if err != nil {
		if has, qerr := s.hasClsact(link); qerr == nil && !has {
			return nil, nil
		}
		return nil, err
	}
	var out []netlink.Filter
	for _, f := range all {
		if f.Attrs().Priority == NetFilterPrio {
			out = append(out, f)
		}
	}
	return out, nil
}

// ourFilter returns where quell's filter for d on link redirects, or nil.
func (s *Shaper) ourFilter(link netlink.Link, d direction) (*redirect, error) {
	fs, err := s.ourFilters(link, d)
	if err != nil || len(fs) != 1 {
		return nil, err
	}
	if r, ok := parseRedirect(fs[0]); ok {
		return &r, nil
	}
	return nil, nil
}

// ensureFilter makes d's hook on veth redirect into leaf minor of the IFB
// with ifindex, adding clsact if needed. A matchall filter cannot be
// changed in place (the kernel answers EEXIST), so a wrong one is deleted
// and re-added; in between, for a moment, packets pass unshaped.
func (s *Shaper) ensureFilter(veth netlink.Link, d direction, ifindex int, minor uint16) (bool, error) {
	changed, err := s.ensureClsact(veth)
	if err != nil {
		return changed, err
	}
	fs, err := s.ourFilters(veth, d)
	if err != nil {
		return changed, err
	}
	want := redirect{ifindex: ifindex, minor: minor}
	if len(fs) == 1 {
		if r, ok := parseRedirect(fs[0]); ok && r == want {
			return changed, nil
		}
	}
	if _, err := s.deleteFilter(veth, d); err != nil {
		return changed, err
	}
	if err := s.h.FilterAdd(wantFilter(veth.Attrs().Index, d, want)); err != nil {
		return true, fmt.Errorf("add %s redirect filter on %s: %w", d, veth.Attrs().Name, err)
	}
	return true, nil
}

// deleteFilter removes every filter of priority NetFilterPrio on d's hook.
func (s *Shaper) deleteFilter(veth netlink.Link, d direction) (bool, error) {
	fs, err := s.ourFilters(veth, d)
	if err != nil {
		return false, err
	}
	for _, f := range fs {
		if err := s.h.FilterDel(f); err != nil {
			return true, fmt.Errorf("delete %s filter on %s: %w", d, veth.Attrs().Name, err)
		}
	}
	return len(fs) > 0, nil
}

func (s *Shaper) hasClsact(link netlink.Link) (bool, error) {
	qs, err := retryDump("list qdiscs of "+link.Attrs().Name, func() ([]netlink.Qdisc, error) { return s.h.QdiscList(link) })
	if err != nil {
		return false, err
	}
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_CLSACT {
			if q.Type() != "clsact" {
				return false, fmt.Errorf("%s has a %s qdisc where quell needs clsact; remove it (tc qdisc del dev %[1]s ingress)",
					link.Attrs().Name, q.Type())
			}
			return true, nil
		}
	}
	return false, nil
}

// ensureClsact adds a clsact qdisc to link if it has none. Another
// ingress-slot qdisc (e.g. "ingress" from the CNI bandwidth plugin) is an
// error naming it.
func (s *Shaper) ensureClsact(link netlink.Link) (bool, error) {
	has, err := s.hasClsact(link)
	if err != nil || has {
		return false, err
	}
	q := &netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index,
		Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT}}
	if err := s.h.QdiscAdd(q); err != nil {
		return false, fmt.Errorf("add clsact on %s: %w", link.Attrs().Name, err)
	}
	return true, nil
}

// dropClsactIfUnused deletes link's clsact qdisc when neither hook has any
// filter left (quell's or anyone's).
func (s *Shaper) dropClsactIfUnused(link netlink.Link) (bool, error) {
	has, err := s.hasClsact(link)
	if err != nil || !has {
		return false, err
	}
	for _, p := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		fs, err := retryDump("list filters of "+link.Attrs().Name, func() ([]netlink.Filter, error) { return s.h.FilterList(link, p) })
		if err != nil {
			return false, err
		}
		if len(fs) > 0 {
			return false, nil
		}
	}
	q := &netlink.Clsact{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index,
		Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT}}
	if err := s.h.QdiscDel(q); err != nil {
		return false, fmt.Errorf("delete clsact on %s: %w", link.Attrs().Name, err)
	}
	return true, nil
}
