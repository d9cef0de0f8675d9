package tc

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// ifbTxQLen is the IFB's queue length; it only sizes HTB's direct queue,
// since every leaf has its own fq_codel.
const ifbTxQLen = 1000

// ensureIFB returns the tenant's IFB for direction d, creating it (named
// by ifbName, aliased by ifbAlias, up, with a root HTB 1:) if missing. An
// existing IFB of that name with another alias is a hash collision between
// tenant names and an error: quell will not merge two tenants' aggregates.
func (s *Shaper) ensureIFB(tenant string, d direction) (netlink.Link, bool, error) {
	name, alias := ifbName(tenant, d), ifbAlias(tenant, d)
	changed := false
	link, err := s.h.LinkByName(name)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		la := netlink.NewLinkAttrs()
		la.Name, la.TxQLen = name, ifbTxQLen
		if err := s.h.LinkAdd(&netlink.Ifb{LinkAttrs: la}); err != nil {
			return nil, false, fmt.Errorf("create IFB %s: %w", name, err)
		}
		changed = true
		if link, err = s.h.LinkByName(name); err != nil {
			return nil, true, fmt.Errorf("IFB %s after creating it: %w", name, err)
		}
		if err := s.h.LinkSetAlias(link, alias); err != nil {
			return nil, true, fmt.Errorf("alias IFB %s: %w", name, err)
		}
		link.Attrs().Alias = alias
	} else if err != nil {
		return nil, false, fmt.Errorf("IFB %s: %w", name, err)
	}
	if link.Type() != "ifb" || link.Attrs().Alias != alias {
		return nil, changed, fmt.Errorf("%s exists as %s with alias %q, not quell's %q",
			name, link.Type(), link.Attrs().Alias, alias)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := s.h.LinkSetUp(link); err != nil {
			return nil, changed, fmt.Errorf("set IFB %s up: %w", name, err)
		}
		changed = true
	}
	qdiscs, err := retryDump("list qdiscs of "+name, func() ([]netlink.Qdisc, error) { return s.h.QdiscList(link) })
	if err != nil {
		return nil, changed, err
	}
	root := netlink.MakeHandle(rootMajor, 0)
	for _, q := range qdiscs {
		if q.Attrs().Parent == netlink.HANDLE_ROOT && q.Attrs().Handle == root && q.Type() == "htb" {
			return link, changed, nil
		}
	}
	htb := netlink.NewHtb(netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: root, Parent: netlink.HANDLE_ROOT})
	if err := s.h.QdiscReplace(htb); err != nil {
		return nil, changed, fmt.Errorf("root HTB on %s: %w", name, err)
	}
	return link, true, nil
}

// listClasses lists the HTB classes of link. The dump's parent must be 0:
// the kernel filters a class dump by the parent's major, and TC_H_ROOT's
// (ffff:) matches no qdisc, so ClassList(link, HANDLE_ROOT) lists nothing.
func (s *Shaper) listClasses(link netlink.Link) ([]*netlink.HtbClass, error) {
	all, err := retryDump("list classes of "+link.Attrs().Name, func() ([]netlink.Class, error) {
		return s.h.ClassList(link, 0)
	})
	if err != nil {
		return nil, err
	}
	var out []*netlink.HtbClass
	for _, c := range all {
		if h, ok := c.(*netlink.HtbClass); ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// leafMinors returns the minors of the leaves under the tenant class.
func leafMinors(classes []*netlink.HtbClass) map[uint16]bool {
	used := map[uint16]bool{}
	for _, c := range classes {
		if c.Parent == netlink.MakeHandle(rootMajor, tenantMinor) {
			used[uint16(c.Handle&0xffff)] = true
		}
	}
	return used
}

// reconcileIFB brings the tenant class and every leaf on ifb to the plan of
// planTenant, and gives each leaf an fq_codel. tenantBits nil keeps the
// tenant cap the IFB has. Leaves quell does not know about (set up before a
// restart, not yet re-applied) keep their current ceil as their cap.
func (s *Shaper) reconcileIFB(ifb netlink.Link, tenant string, d direction, tenantBits *uint64) (bool, error) {
	idx, name := ifb.Attrs().Index, ifb.Attrs().Name
	classes, err := s.listClasses(ifb)
	if err != nil {
		return false, err
	}
	tenantHandle := netlink.MakeHandle(rootMajor, tenantMinor)
	have := map[uint32]*netlink.HtbClass{}
	for _, c := range classes {
		have[c.Handle] = c
	}
	var tb uint64
	if tenantBits != nil {
		tb = *tenantBits
	} else if c := have[tenantHandle]; c != nil && c.Ceil*8 < unlimitedBits {
		tb = c.Ceil * 8
	}
	known := map[uint16]uint64{}
	for _, r := range s.shaped {
		if r.spec.Tenant == tenant && r.minor[d] != 0 {
			known[r.minor[d]], _ = r.spec.limits(d)
		}
	}
	var leaves []leafWant
	for m := range leafMinors(classes) {
		if cap, ok := known[m]; ok {
			leaves = append(leaves, leafWant{Minor: m, Cap: cap})
			delete(known, m)
		} else {
			leaves = append(leaves, leafWant{Minor: m, Cap: have[leafHandle(m)].Ceil * 8})
		}
	}
	for m, cap := range known { // new leaves
		leaves = append(leaves, leafWant{Minor: m, Cap: cap})
	}
	tenantRate, plans := planTenant(tb, leaves)
	changed := false
	put := func(want *netlink.HtbClass) error {
		if c := have[want.Handle]; c != nil && sameHTB(c, want) {
			return nil
		}
		changed = true
		if err := s.h.ClassReplace(want); err != nil {
			return fmt.Errorf("HTB class %s on %s: %w", netlink.HandleStr(want.Handle), name, err)
		}
		return nil
	}
	root := netlink.MakeHandle(rootMajor, 0)
	if err := put(htbClass(idx, root, tenantHandle, tenantRate, tenantRate)); err != nil {
		return changed, err
	}
	for _, p := range plans {
		if err := put(htbClass(idx, tenantHandle, leafHandle(p.Minor), p.Rate, p.Ceil)); err != nil {
			return changed, err
		}
	}
	c, err := s.ensureLeafQdiscs(ifb, plans)
	return changed || c, err
}

// ensureLeafQdiscs puts an fq_codel under each planned leaf that lacks one.
func (s *Shaper) ensureLeafQdiscs(ifb netlink.Link, plans []leafPlan) (bool, error) {
	qdiscs, err := retryDump("list qdiscs of "+ifb.Attrs().Name, func() ([]netlink.Qdisc, error) { return s.h.QdiscList(ifb) })
	if err != nil {
		return false, err
	}
	has := map[uint32]bool{}
	for _, q := range qdiscs {
		if q.Type() == "fq_codel" {
			has[q.Attrs().Parent] = true
		}
	}
	changed := false
	for _, p := range plans {
		if has[leafHandle(p.Minor)] {
			continue
		}
		q := netlink.NewFqCodel(netlink.QdiscAttrs{LinkIndex: ifb.Attrs().Index,
			Handle: leafQdiscHandle(p.Minor), Parent: leafHandle(p.Minor)})
		q.Target, q.Interval = codelParams(p.Ceil)
		if err := s.h.QdiscReplace(q); err != nil {
			return changed, fmt.Errorf("fq_codel under %s on %s: %w", netlink.HandleStr(leafHandle(p.Minor)), ifb.Attrs().Name, err)
		}
		changed = true
	}
	return changed, nil
}

// removeLeaf deletes leaf minor (and its fq_codel) from the tenant's IFB for
// direction d, then deletes the IFB if no leaf is left or re-splits the
// rest. A missing IFB or leaf is not an error.
func (s *Shaper) removeLeaf(tenant string, d direction, minor uint16) (bool, error) {
	name := ifbName(tenant, d)
	ifb, err := s.h.LinkByName(name)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("IFB %s: %w", name, err)
	}
	if ifb.Attrs().Alias != ifbAlias(tenant, d) {
		return false, nil // not ours
	}
	classes, err := s.listClasses(ifb)
	if err != nil {
		return false, err
	}
	changed := false
	used := leafMinors(classes)
	if used[minor] {
		cls := &netlink.HtbClass{ClassAttrs: netlink.ClassAttrs{LinkIndex: ifb.Attrs().Index,
			Parent: netlink.MakeHandle(rootMajor, tenantMinor), Handle: leafHandle(minor)}}
		if err := s.h.ClassDel(cls); err != nil {
			return false, fmt.Errorf("delete HTB class %s on %s: %w", netlink.HandleStr(cls.Handle), name, err)
		}
		delete(used, minor)
		changed = true
	}
	if len(used) == 0 && !s.tenantUses(tenant, d) {
		if err := s.h.LinkDel(ifb); err != nil {
			return changed, fmt.Errorf("delete IFB %s: %w", name, err)
		}
		return true, nil
	}
	c, err := s.reconcileIFB(ifb, tenant, d, nil)
	return changed || c, err
}

// tenantUses reports whether a known container of tenant is shaped in d.
func (s *Shaper) tenantUses(tenant string, d direction) bool {
	for _, r := range s.shaped {
		if r.spec.Tenant == tenant && r.minor[d] != 0 {
			return true
		}
	}
	return false
}
