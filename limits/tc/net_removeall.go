package tc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// RemoveAll undoes every shaping quell left in this namespace, whether or
// not this Shaper applied it (`quelld --restore-all` after quelld stopped,
// when nothing is in memory): quell marks what it builds, and only what
// bears its marks is removed. Those are
//   - IFBs named qle/qli<8 hex> whose alias is "quell tenant=… dir=…"
//     (deleting one deletes its HTB, classes and fq_codel qdiscs), and
//   - on every other link, the filters of priority NetFilterPrio on the
//     clsact hooks that redirect into one of those IFBs; the clsact qdisc
//     goes too once no filter (of anyone) is left on it.
//
// It returns the number of links it changed and every failure joined; what
// could not be removed stays for another run. A namespace without quell's
// marks is (0, nil).
func (s *Shaper) RemoveAll(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	links, err := retryDump("list links", func() ([]netlink.Link, error) { return s.h.LinkList() })
	if err != nil {
		return 0, fmt.Errorf("remove all shaping: %w", err)
	}
	ifbs := map[int]netlink.Link{}
	for _, l := range links {
		if isQuellIFB(l) {
			ifbs[l.Attrs().Index] = l
		}
	}
	n := 0
	var errs []error
	for _, l := range links {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if ifbs[l.Attrs().Index] != nil {
			continue
		}
		changed := false
		for _, d := range []direction{dirEgress, dirIngress} {
			fs, err := s.ourFilters(l, d)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, f := range fs {
				if r, ok := parseRedirect(f); !ok || ifbs[r.ifindex] == nil {
					continue // not quell's: left alone
				}
				if err := s.h.FilterDel(f); err != nil {
					errs = append(errs, fmt.Errorf("delete %s filter on %s: %w", d, l.Attrs().Name, err))
					continue
				}
				changed = true
			}
		}
		if changed {
			n++
			if _, err := s.dropClsactIfUnused(l); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, l := range ifbs {
		if err := s.h.LinkDel(l); err != nil && !errors.As(err, &netlink.LinkNotFoundError{}) {
			errs = append(errs, fmt.Errorf("delete IFB %s: %w", l.Attrs().Name, err))
			continue
		}
		n++
	}
	s.shaped = map[string]shapedContainer{}
	return n, errors.Join(errs...)
}

// isQuellIFB reports whether l is an IFB quell created (ensureIFB): its
// name and its alias both say so.
func isQuellIFB(l netlink.Link) bool {
	a := l.Attrs()
	if l.Type() != "ifb" || len(a.Name) != 11 || !(strings.HasPrefix(a.Name, "qle") || strings.HasPrefix(a.Name, "qli")) {
		return false
	}
	tenant, ok := strings.CutPrefix(a.Alias, "quell tenant=")
	if !ok {
		return false
	}
	tenant, dir, ok := strings.Cut(tenant, " dir=")
	if !ok {
		return false
	}
	for _, d := range []direction{dirEgress, dirIngress} {
		if dir == d.String() && a.Name == ifbName(tenant, d) {
			return true
		}
	}
	return false
}
