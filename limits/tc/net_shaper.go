package tc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Shaper shapes containers' traffic on their host veths through per-tenant
// IFBs (the layout is described at the top of net.go). It talks netlink in
// one namespace (the host's) and is safe for concurrent use.
//
// What a Shaper knows about containers lives in memory, keyed by container
// ID; after a restart the enforcer re-Applies every live container, and
// Apply picks up the leaf each veth's filter already points at, so nothing is
// rebuilt or reordered.
type Shaper struct {
	h      *netlink.Handle
	mu     sync.Mutex
	shaped map[string]shapedContainer
}

// shapedContainer is what Apply did for one container.
type shapedContainer struct {
	veth  string
	spec  NetSpec
	minor [2]uint16 // leaf minor per direction; 0 = not shaped
}

var tenantNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// NewShaper returns a Shaper working in the network namespace at nsPath, or
// in the calling process's namespace if nsPath is "".
func NewShaper(nsPath string) (*Shaper, error) {
	var h *netlink.Handle
	var err error
	if nsPath == "" {
		h, err = netlink.NewHandle()
	} else {
		var ns netns.NsHandle
		ns, err = netns.GetFromPath(nsPath)
		if err != nil {
			return nil, fmt.Errorf("open netns %s: %w", nsPath, err)
		}
		defer ns.Close()
		h, err = netlink.NewHandleAt(ns)
	}
	if err != nil {
		return nil, fmt.Errorf("netlink handle: %w", err)
	}
	return &Shaper{h: h, shaped: map[string]shapedContainer{}}, nil
}

// Close releases the netlink socket. Shaping stays in the kernel.
func (s *Shaper) Close() { s.h.Close() }

// Apply makes the shaping of container id on hostVeth match spec. It is
// level-based: it reads what is in the kernel and writes only what differs,
// reporting whether anything was written. Re-applying the same spec changes
// nothing; changed rates change the HTB classes in place (no packet is
// reordered or dropped by the change); a direction whose limits become zero
// is unshaped; a new veth or tenant moves the container's leaves.
//
// Adding or removing a container re-splits its tenant's assured rates
// (see planTenant), so other containers' classes of the same tenant may
// change too. Errors name the object being written; on error, what was
// already written stays (a later Apply or Remove converges).
func (s *Shaper) Apply(ctx context.Context, id, hostVeth string, spec NetSpec) (changed bool, err error) {
	if !tenantNameRE.MatchString(spec.Tenant) {
		return false, fmt.Errorf("shape %s: bad tenant name %q", id, spec.Tenant)
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	veth, err := s.h.LinkByName(hostVeth)
	if err != nil {
		return false, fmt.Errorf("shape %s: host veth %s: %w", id, hostVeth, err)
	}
	if veth.Type() != "veth" {
		return false, fmt.Errorf("shape %s: %s is %s: %w", id, hostVeth, veth.Type(), ErrNotVeth)
	}
	prev, had := s.shaped[id]
	if had && (prev.veth != hostVeth || prev.spec.Tenant != spec.Tenant) {
		if err := s.removeLocked(id, prev); err != nil {
			return true, fmt.Errorf("shape %s: move from %s/%s: %w", id, prev.veth, prev.spec.Tenant, err)
		}
		changed, had = true, false
	}
	rec := shapedContainer{veth: hostVeth, spec: spec}
	if had {
		rec.minor = prev.minor
	}
	for _, d := range []direction{dirEgress, dirIngress} {
		if err := ctx.Err(); err != nil {
			return changed, err
		}
		var c bool
		if cap, ten := spec.limits(d); cap == 0 && ten == 0 {
			c, err = s.unshapeDir(id, veth, &rec, d)
		} else {
			c, err = s.shapeDir(id, veth, &rec, d)
		}
		changed = changed || c
		if err != nil {
			return changed, fmt.Errorf("shape %s %s on %s: %w", id, d, hostVeth, err)
		}
	}
	if rec.minor == [2]uint16{} {
		delete(s.shaped, id)
		c, err := s.dropClsactIfUnused(veth)
		changed = changed || c
		if err != nil {
			return changed, fmt.Errorf("shape %s: %w", id, err)
		}
	}
	return changed, nil
}

// shapeDir puts rec's container on its tenant's IFB for direction d: the
// IFB and its root HTB, the leaf (and the re-split of the tenant's leaves),
// then the veth's filter pointing at the leaf — in that order, so a packet is
// never redirected to a class that does not exist yet.
func (s *Shaper) shapeDir(id string, veth netlink.Link, rec *shapedContainer, d direction) (bool, error) {
	ifb, changed, err := s.ensureIFB(rec.spec.Tenant, d)
	if err != nil {
		return changed, err
	}
	classes, err := s.listClasses(ifb)
	if err != nil {
		return changed, err
	}
	used := leafMinors(classes)
	minor := rec.minor[d]
	if f, _ := s.ourFilter(veth, d); f != nil && f.ifindex == ifb.Attrs().Index && used[f.minor] {
		minor = f.minor // set up before a restart: keep it
	}
	if minor == 0 || (!used[minor] && s.minorTaken(rec.spec.Tenant, d, minor, id)) {
		m, ok := freeMinor(used)
		if !ok {
			return changed, fmt.Errorf("IFB %s has no free leaf class", ifb.Attrs().Name)
		}
		minor = m
	}
	rec.minor[d] = minor
	s.shaped[id] = *rec
	_, tenantBits := rec.spec.limits(d)
	c, err := s.reconcileIFB(ifb, rec.spec.Tenant, d, &tenantBits)
	changed = changed || c
	if err != nil {
		return changed, err
	}
	c, err = s.ensureFilter(veth, d, ifb.Attrs().Index, minor)
	return changed || c, err
}

// minorTaken reports whether another known container of tenant holds minor
// in direction d.
func (s *Shaper) minorTaken(tenant string, d direction, minor uint16, self string) bool {
	for id, r := range s.shaped {
		if id != self && r.spec.Tenant == tenant && r.minor[d] == minor {
			return true
		}
	}
	return false
}

// unshapeDir removes rec's filter and leaf for direction d, if any.
func (s *Shaper) unshapeDir(id string, veth netlink.Link, rec *shapedContainer, d direction) (bool, error) {
	changed, err := s.deleteFilter(veth, d)
	if err != nil {
		return changed, err
	}
	if rec.minor[d] == 0 {
		return changed, nil
	}
	minor := rec.minor[d]
	rec.minor[d] = 0
	s.shaped[id] = *rec
	c, err := s.removeLeaf(rec.spec.Tenant, d, minor)
	return changed || c, err
}

// Remove undoes Apply for container id: its filters on the host veth (if the
// veth still exists), the clsact qdisc once no filter is left on it, its
// leaves on the tenant's IFBs, and an IFB once its last leaf is gone; the
// tenant's remaining leaves are re-split. An unknown id is not an error
// (false, nil). A veth that vanished with its container is not an error.
func (s *Shaper) Remove(ctx context.Context, id string) (changed bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.shaped[id]
	if !ok {
		return false, nil
	}
	if err := s.removeLocked(id, rec); err != nil {
		return true, fmt.Errorf("unshape %s: %w", id, err)
	}
	return true, nil
}

func (s *Shaper) removeLocked(id string, rec shapedContainer) error {
	veth, err := s.h.LinkByName(rec.veth)
	if err != nil && !errors.As(err, &netlink.LinkNotFoundError{}) {
		return fmt.Errorf("host veth %s: %w", rec.veth, err)
	}
	delete(s.shaped, id)
	var errs []error
	for _, d := range []direction{dirEgress, dirIngress} {
		if veth != nil {
			if _, err := s.deleteFilter(veth, d); err != nil {
				errs = append(errs, err)
			}
		}
		if rec.minor[d] != 0 {
			if _, err := s.removeLeaf(rec.spec.Tenant, d, rec.minor[d]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if veth != nil {
		if _, err := s.dropClsactIfUnused(veth); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
