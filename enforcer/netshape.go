package enforcer

// Network shaping in the loop. For each container whose tenant has net
// limits (aggregate [tenant.limits] net and/or per-container
// [tenant.container] net) and whose init PID is known, the loop finds the
// host side of its veth once (cached per container and PID), asks the
// shaper to make the kernel match NetSpec{tenant, container caps, tenant
// aggregate} when the spec changed or the container is new, and reads the
// veth's counters into Usage.NetRxBps/NetTxBps. A container that leaves
// the tenant or the policy, or vanishes, is unshaped (Remove).
//
// What is kept here is level-based: the loop compares what it wants with
// what it last did (e.nets) every tick, so a container that vanished is
// unshaped even when discover did not say so.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits/tc"
	"github.com/quell-dev/quell/policies"
)

// NetShaper is the network side the loop uses: tc.Shaper plus finding a
// container's host veth. Keys (id) are the containers' cgroup paths.
type NetShaper interface {
	// Network finds the host veth of the container whose network namespace
	// is at nsPath. It fails (tc.ErrNotVeth) for host networking,
	// macvlan and the like, which cannot be shaped per container.
	Network(nsPath string) (tc.NetInfo, error)
	Apply(ctx context.Context, id, hostVeth string, spec tc.NetSpec) (changed bool, err error)
	Remove(ctx context.Context, id string) (changed bool, err error)
	Usage(ctx context.Context, hostVeth string) (tc.NetUsage, error)
}

// WithNetShaper replaces the host's shaper (tests, or a shaper working in
// another namespace).
func WithNetShaper(s NetShaper) Option { return func(e *Enforcer) { e.shaper = s } }

// hostShaper is the real NetShaper: tc.Shaper in quelld's own network
// namespace, opened on first use so that a host without net limits never
// opens a netlink socket. procRoot/self/ns/net is quelld's namespace: a
// container sharing it is on the host network.
type hostShaper struct {
	procRoot string
	mu       sync.Mutex
	s        *tc.Shaper
}

var _ NetShaper = (*hostShaper)(nil)

func (h *hostShaper) shaper() (*tc.Shaper, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s != nil {
		return h.s, nil
	}
	s, err := tc.NewShaper("")
	if err != nil {
		return nil, err
	}
	h.s = s
	return s, nil
}

func (h *hostShaper) Network(nsPath string) (tc.NetInfo, error) {
	if sameFile(nsPath, filepath.Join(h.procRoot, "self/ns/net")) {
		return tc.NetInfo{NetnsPath: nsPath}, fmt.Errorf("%s is quelld's own (host) network namespace: %w", nsPath, tc.ErrNotVeth)
	}
	return tc.NetworkOfNS(nsPath)
}

func (h *hostShaper) Apply(ctx context.Context, id, veth string, spec tc.NetSpec) (bool, error) {
	s, err := h.shaper()
	if err != nil {
		return false, err
	}
	return s.Apply(ctx, id, veth, spec)
}

func (h *hostShaper) Remove(ctx context.Context, id string) (bool, error) {
	s, err := h.shaper()
	if err != nil {
		return false, err
	}
	return s.Remove(ctx, id)
}

func (h *hostShaper) Usage(ctx context.Context, veth string) (tc.NetUsage, error) {
	s, err := h.shaper()
	if err != nil {
		return tc.NetUsage{}, err
	}
	return s.Usage(ctx, veth)
}

// sameFile reports whether a and b are the same inode (false if either
// cannot be stat'ed).
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// netEntry is what the loop knows and did about one container's network.
type netEntry struct {
	id      string // container ID, for events
	pid     int    // the init PID the veth was looked up for
	veth    string // host veth, "" until found
	findErr string // why the veth could not be found (standing; reported once)
	retryAt time.Time
	tenant  string
	spec    tc.NetSpec
	applied bool // spec is in the kernel (dry-run: was reported)
	shaped  bool // the shaper holds state for this container (Remove needed)

	prev     tc.NetUsage
	prevT    time.Time
	havePrev bool
}

// netSpecFor is the shaping c's tenant wants for it; ok is false when the
// tenant has no net limits (or c is in no tenant).
func netSpecFor(p *policies.Policy, c view.Container) (tc.NetSpec, bool) {
	ten := tenantNamed(p, c.Tenant)
	if ten == nil || (ten.Limits.Net == nil && ten.Container.Net == nil) {
		return tc.NetSpec{}, false
	}
	s := tc.NetSpec{Tenant: ten.Name}
	if n := ten.Container.Net; n != nil {
		s.EgressBits, s.IngressBits = n.EgressBits, n.IngressBits
	}
	if n := ten.Limits.Net; n != nil {
		s.TenantEgressBits, s.TenantIngressBits = n.EgressBits, n.IngressBits
	}
	if s == (tc.NetSpec{Tenant: ten.Name}) {
		return tc.NetSpec{}, false
	}
	return s, true
}

func tenantNamed(p *policies.Policy, name string) *policies.Tenant {
	if p == nil || name == "" {
		return nil
	}
	for i := range p.Tenants {
		if p.Tenants[i].Name == name {
			return &p.Tenants[i]
		}
	}
	return nil
}

// shapeNetwork is the loop's network step (see the top of this file). It
// returns the number of containers with fresh errors; standing ones (no
// veth) are listed in the container's errors but not counted again.
func (e *Enforcer) shapeNetwork(ctx context.Context, p *policies.Policy) int {
	if e.shaper == nil {
		return 0
	}
	errs := 0
	for _, cg := range e.sortedKnown() {
		t := e.known[cg]
		spec, want := netSpecFor(p, t.c)
		n := e.nets[cg]
		if !want || t.c.PID == 0 {
			if n != nil {
				why := "no longer wanted by the policy"
				if want {
					why = "init PID no longer known"
				}
				errs += e.unshape(ctx, cg, n, why)
			}
			if want {
				t.errs = append(t.errs, "net: init PID unknown, so its veth cannot be found: not shaped")
			}
			continue
		}
		if n == nil || n.pid != t.c.PID {
			old := n
			n = &netEntry{id: t.c.ID, pid: t.c.PID}
			if old != nil { // restarted: new veth; the next Apply moves the shaping
				n.spec, n.tenant, n.shaped = old.spec, old.tenant, old.shaped
			}
			e.nets[cg] = n
		}
		if n.veth == "" && !e.findVeth(t, n) {
			t.errs = append(t.errs, n.findErr)
			continue
		}
		if owner := e.vethOwner(cg, n.veth); owner != "" {
			e.refuseSharedVeth(t, n, owner)
			t.errs = append(t.errs, n.findErr)
			continue
		}
		if !n.applied || n.spec != spec {
			if !e.applyShaping(ctx, t, n, spec) {
				errs++
				continue
			}
		}
		if err := e.netUsage(ctx, t, n); err != nil {
			t.errs = append(t.errs, "net usage: "+err.Error())
			errs++
		}
	}
	for cg, n := range e.nets {
		if e.known[cg] == nil {
			errs += e.unshape(ctx, cg, n, "container gone")
		}
	}
	return errs
}

// vethOwner is the other cgroup whose shaping holds veth (applied or
// partly applied), "" when none. A veth is one container's network: a
// second cgroup finding the same one (a cgroup named after another's ID,
// and so given its init PID) is never shaped, so that its Remove can never
// take the first one's filter away.
func (e *Enforcer) vethOwner(cg, veth string) string {
	for other, n := range e.nets {
		if other != cg && n.veth == veth && (n.applied || n.shaped) {
			return other
		}
	}
	return ""
}

// refuseSharedVeth records, once, that t's veth belongs to owner's shaping.
func (e *Enforcer) refuseSharedVeth(t *tracked, n *netEntry, owner string) {
	msg := "net: host veth " + n.veth + " is already shaped for cgroup " + owner + ": two cgroups claim one network; not shaped"
	if msg != n.findErr {
		e.log.Warn("network limits refused: veth shaped for another cgroup", "cgroup", t.c.Cgroup, "veth", n.veth, "owner", owner)
		e.events.add(view.Event{Time: e.clock.Now(), Kind: "error", Tenant: t.c.Tenant, Cgroup: t.c.Cgroup, Target: t.c.ID,
			Reason: msg, DryRun: e.cfg.DryRun})
	}
	n.veth, n.findErr, n.retryAt = "", msg, e.clock.Now().Add(e.cfg.Resync)
}

// findVeth looks up t's host veth unless a failure is standing; a new
// failure is logged and recorded once, and retried after Resync (a CNI
// plugin may still be setting the network up).
func (e *Enforcer) findVeth(t *tracked, n *netEntry) bool {
	now := e.clock.Now()
	if n.findErr != "" && now.Before(n.retryAt) {
		return false
	}
	ns := filepath.Join(e.cfg.ProcRoot, strconv.Itoa(t.c.PID), "ns/net")
	info, err := e.shaper.Network(ns)
	if err != nil {
		msg := "net: cannot shape: " + err.Error()
		if msg != n.findErr {
			e.log.Warn("network limits cannot be applied", "cgroup", t.c.Cgroup, "err", err)
			e.events.add(view.Event{Time: now, Kind: "error", Tenant: t.c.Tenant, Cgroup: t.c.Cgroup, Target: t.c.ID,
				Reason: msg, DryRun: e.cfg.DryRun})
		}
		n.findErr, n.retryAt = msg, now.Add(e.cfg.Resync)
		return false
	}
	n.veth, n.findErr = info.HostVeth, ""
	return true
}

// applyShaping makes the kernel match spec (dry-run: records what it would
// do). It reports success.
func (e *Enforcer) applyShaping(ctx context.Context, t *tracked, n *netEntry, spec tc.NetSpec) bool {
	before := ""
	if n.applied {
		before = netRates(n.spec)
	}
	ev := view.Event{Time: e.clock.Now(), Kind: "limit", Tenant: t.c.Tenant, Cgroup: t.c.Cgroup, Target: t.c.ID,
		Reason: "network shaping on host veth " + n.veth + " (tenant " + spec.Tenant + ")", Before: before, After: netRates(spec)}
	if e.cfg.DryRun {
		ev.DryRun = true
		e.events.add(ev)
		n.spec, n.tenant, n.applied = spec, spec.Tenant, true
		return true
	}
	changed, err := e.shaper.Apply(ctx, t.c.Cgroup, n.veth, spec)
	if err != nil {
		t.errs = append(t.errs, "net: "+err.Error())
		e.log.Warn("apply network shaping", "cgroup", t.c.Cgroup, "veth", n.veth, "err", err)
		// Apply may have written part of it: Remove is due either way. Look
		// the veth up again next tick: it may have been replaced.
		n.veth, n.applied, n.shaped = "", false, true
		return false
	}
	if changed {
		e.events.add(ev)
	}
	n.spec, n.tenant, n.applied, n.shaped = spec, spec.Tenant, true, true
	return true
}

// netUsage turns the veth's byte counters into bits/s on t.usage. A failed
// read leaves the previous rates; a counter that went back gives none.
func (e *Enforcer) netUsage(ctx context.Context, t *tracked, n *netEntry) error {
	u, err := e.shaper.Usage(ctx, n.veth)
	now := e.clock.Now()
	if err != nil {
		n.havePrev = false
		return err
	}
	if dt := now.Sub(n.prevT).Seconds(); n.havePrev && dt > 0 && u.TxBytes >= n.prev.TxBytes && u.RxBytes >= n.prev.RxBytes {
		t.usage.NetTxBps = 8 * float64(u.TxBytes-n.prev.TxBytes) / dt
		t.usage.NetRxBps = 8 * float64(u.RxBytes-n.prev.RxBytes) / dt
	}
	n.prev, n.prevT, n.havePrev = u, now, true
	t.usage.Counters.Net = &view.NetCounters{RxBytes: u.RxBytes, TxBytes: u.TxBytes, RxPackets: u.RxPackets, TxPackets: u.TxPackets}
	return nil
}

// unshape removes cg's shaping. On failure the entry stays, to be retried
// next tick; it returns 1 then.
func (e *Enforcer) unshape(ctx context.Context, cg string, n *netEntry, why string) int {
	if !n.applied && !n.shaped {
		delete(e.nets, cg)
		return 0
	}
	ev := view.Event{Time: e.clock.Now(), Kind: "restore", Tenant: n.tenant, Cgroup: cg, Target: n.id,
		Reason: "network shaping removed: " + why, Before: netRates(n.spec)}
	if e.cfg.DryRun || !n.shaped {
		ev.DryRun = e.cfg.DryRun
		if ev.DryRun {
			e.events.add(ev)
		}
		delete(e.nets, cg)
		return 0
	}
	changed, err := e.shaper.Remove(ctx, cg)
	if err != nil {
		e.log.Warn("remove network shaping", "cgroup", cg, "err", err)
		if t := e.known[cg]; t != nil {
			t.errs = append(t.errs, "net: "+err.Error())
		}
		return 1
	}
	if changed {
		e.events.add(ev)
	}
	delete(e.nets, cg)
	return 0
}

// netRates renders a spec for events: "egress 20Mbit/s (tenant 100Mbit/s), ingress -".
func netRates(s tc.NetSpec) string {
	dir := func(name string, c, t uint64) string {
		var parts []string
		if c > 0 {
			parts = append(parts, bitRate(c))
		}
		if t > 0 {
			parts = append(parts, "tenant "+bitRate(t))
		}
		if len(parts) == 0 {
			return name + " unlimited"
		}
		return name + " " + strings.Join(parts, ", ")
	}
	return dir("egress", s.EgressBits, s.TenantEgressBits) + "; " + dir("ingress", s.IngressBits, s.TenantIngressBits)
}

func bitRate(b uint64) string {
	for _, u := range []struct {
		div  uint64
		name string
	}{{1e9, "Gbit/s"}, {1e6, "Mbit/s"}, {1e3, "Kbit/s"}} {
		if b >= u.div && b%(u.div/1000) == 0 {
			return strconv.FormatFloat(float64(b)/float64(u.div), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatUint(b, 10) + "bit/s"
}

// initNetDisk installs the host's shaper and quotas unless options gave
// fakes. A read-only enforcer (the CLI without the daemon) has neither: it
// could not read another process's network namespace or the project quotas
// without privileges anyway. In DryRun both exist, but the loop only looks
// (veths, counters, quota state) and never calls Apply, Remove, Assign,
// Allocate, Untag, ClearLimit or Free.
func (e *Enforcer) initNetDisk() {
	e.nets, e.disks = map[string]*netEntry{}, map[string]*diskEntry{}
	if e.cfg.ReadOnly {
		e.shaper, e.quotas = nil, nil
		return
	}
	if e.shaper == nil {
		e.shaper = &hostShaper{procRoot: e.cfg.ProcRoot}
	}
	if e.quotas == nil {
		e.quotas = recordDirs(newHostQuotas(e.cfg.ProcRoot, e.cfg.StateDir), e.cfg.StateDir)
	}
}
