package enforcer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits/tc"
)

func (h *fakeHost) enforcerWith(clock Clock, dryRun bool, opts ...Option) *Enforcer {
	h.t.Helper()
	cfg := h.config()
	cfg.DryRun = dryRun
	e, err := New(cfg, append([]Option{WithClock(clock)}, opts...)...)
	must(h.t, err)
	return e
}

const netPolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.limits]
  net = { egress = "%s" }
  [tenant.container]
  net = { ingress = "10Mbit" }
`

func eventsOf(e *Enforcer, kind string) []view.Event {
	var out []view.Event
	for _, ev := range e.Events(0, 0) {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func viewOf(e *Enforcer, cg string) view.ContainerView {
	for _, c := range e.View().Containers {
		if c.Cgroup == cg {
			return c
		}
	}
	return view.ContainerView{}
}

func TestNetShapedOnceReappliedOnChangeRemovedWhenGone(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(netPolicy, "100Mbit"))
	cg, _ := h.runningContainer(idA, "acme-web", 4242)
	other, _ := h.runningContainer(idB, "other", 4343)
	sh := newFakeShaper()
	sh.nets[h.netnsOf(4242)] = tc.NetInfo{Interface: "eth0", HostVeth: "veth1"}
	sh.counters["veth1"] = tc.NetUsage{TxBytes: 1000, RxBytes: 5000}
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(sh), WithDiskQuotas(newFakeQuotas()))
	ctx := context.Background()

	e.Tick(ctx)
	applies, _, lookups := sh.calls()
	want := cg + " veth1 {Tenant:acme EgressBits:0 IngressBits:10000000 TenantEgressBits:100000000 TenantIngressBits:0}"
	if len(applies) != 1 || applies[0] != want {
		t.Fatalf("first tick applied %q, want [%q]", applies, want)
	}
	if lookups != 1 {
		t.Fatalf("%d veth lookups, want 1 (the unmatched container is not looked up)", lookups)
	}
	evs := eventsOf(e, "limit")
	if len(evs) != 1 || evs[0].After != "egress tenant 100Mbit/s; ingress 10Mbit/s" || evs[0].Target != idA {
		t.Fatalf("limit events %+v", evs)
	}

	// Cheap ticks: nothing re-applied, nothing looked up again; rates from counters.
	sh.mu.Lock()
	sh.counters["veth1"] = tc.NetUsage{TxBytes: 1000 + 250_000, RxBytes: 5000 + 125_000}
	sh.mu.Unlock()
	clock.Add(time.Second)
	e.Tick(ctx)
	clock.Add(time.Second)
	e.Tick(ctx)
	applies, _, lookups = sh.calls()
	if len(applies) != 1 || lookups != 1 {
		t.Fatalf("re-ticks: %d applies, %d lookups; want 1, 1", len(applies), lookups)
	}
	// Second tick: 250 kB sent in 1 s = 2 Mbit/s; third tick: nothing more.
	if u := viewOf(e, cg).Usage; u.NetTxBps != 0 || u.NetRxBps != 0 {
		t.Fatalf("after an idle second: tx %v rx %v bit/s, want 0", u.NetTxBps, u.NetRxBps)
	}
	sh.mu.Lock()
	sh.counters["veth1"] = tc.NetUsage{TxBytes: 1000 + 500_000, RxBytes: 5000 + 250_000}
	sh.mu.Unlock()
	clock.Add(time.Second)
	e.Tick(ctx)
	if u := viewOf(e, cg).Usage; u.NetTxBps != 2e6 || u.NetRxBps != 1e6 {
		t.Fatalf("usage tx %v rx %v bit/s, want 2e6 and 1e6", u.NetTxBps, u.NetRxBps)
	}
	if tv := e.View().Tenants[0]; tv.Usage.NetTxBps != 2e6 {
		t.Fatalf("tenant tx %v bit/s, want 2e6", tv.Usage.NetTxBps)
	}

	// A changed spec is applied again, once.
	h.file("policy.d/10-acme.toml", fmt.Sprintf(netPolicy, "50Mbit"))
	must(t, e.Reload(ctx))
	clock.Add(time.Second)
	e.Tick(ctx)
	clock.Add(time.Second)
	e.Tick(ctx)
	applies, _, _ = sh.calls()
	if len(applies) != 2 || !strings.Contains(applies[1], "TenantEgressBits:50000000") {
		t.Fatalf("after the change: applies %q", applies)
	}
	if evs := eventsOf(e, "limit"); len(evs) != 2 || evs[1].Before != "egress tenant 100Mbit/s; ingress 10Mbit/s" {
		t.Fatalf("limit events after change: %+v", evs)
	}

	// Vanished: removed, once; the unmatched container never touched.
	h.gone(t, cg)
	for range 3 {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	_, removes, _ := sh.calls()
	if len(removes) != 1 || removes[0] != cg {
		t.Fatalf("removes %q, want [%s]", removes, cg)
	}
	if len(sh.shaped) != 0 {
		t.Fatalf("still shaped: %v", sh.shaped)
	}
	if evs := eventsOf(e, "restore"); len(evs) != 1 || !strings.Contains(evs[0].Reason, "container gone") {
		t.Fatalf("restore events %+v", evs)
	}
	for _, a := range applies {
		if strings.HasPrefix(a, other) {
			t.Fatalf("unmatched container shaped: %s", a)
		}
	}
}

func TestNetRemovedWhenTenantLosesNetLimits(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(netPolicy, "100Mbit"))
	cg, _ := h.runningContainer(idA, "acme-web", 4242)
	sh := newFakeShaper()
	sh.nets[h.netnsOf(4242)] = tc.NetInfo{HostVeth: "veth1"}
	sh.counters["veth1"] = tc.NetUsage{}
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(sh), WithDiskQuotas(newFakeQuotas()))
	ctx := context.Background()
	e.Tick(ctx)
	h.file("policy.d/10-acme.toml", acmePolicy) // same tenant, no net
	must(t, e.Reload(ctx))
	clock.Add(time.Second)
	e.Tick(ctx)
	clock.Add(time.Second)
	e.Tick(ctx)
	applies, removes, _ := sh.calls()
	if len(applies) != 1 || len(removes) != 1 || removes[0] != cg {
		t.Fatalf("applies %q removes %q; want one of each", applies, removes)
	}
}

func TestNetDryRunAppliesNothing(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(netPolicy, "100Mbit"))
	cg, _ := h.runningContainer(idA, "acme-web", 4242)
	sh := newFakeShaper()
	sh.nets[h.netnsOf(4242)] = tc.NetInfo{HostVeth: "veth1"}
	sh.counters["veth1"] = tc.NetUsage{}
	clock := newClock()
	e := h.enforcerWith(clock, true, WithNetShaper(sh), WithDiskQuotas(newFakeQuotas()))
	ctx := context.Background()
	e.Tick(ctx)
	clock.Add(time.Second)
	e.Tick(ctx)
	h.gone(t, cg)
	for range 2 {
		clock.Add(time.Second)
		e.Tick(ctx)
	}
	applies, removes, _ := sh.calls()
	if len(applies) != 0 || len(removes) != 0 {
		t.Fatalf("dry run applied %q, removed %q", applies, removes)
	}
	evs := eventsOf(e, "limit")
	if len(evs) != 1 || !evs[0].DryRun || !strings.Contains(evs[0].Reason, "veth1") {
		t.Fatalf("dry-run limit events %+v, want one marked dry_run", evs)
	}
	if evs := eventsOf(e, "restore"); len(evs) != 1 || !evs[0].DryRun {
		t.Fatalf("dry-run restore events %+v", evs)
	}
}

func TestNetNoVethReportedOnce(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10-acme.toml", fmt.Sprintf(netPolicy, "100Mbit"))
	cg, _ := h.runningContainer(idA, "acme-web", 4242)
	sh := newFakeShaper()
	sh.netErr[h.netnsOf(4242)] = fmt.Errorf("eth0 is device: %w", tc.ErrNotVeth)
	clock := newClock()
	e := h.enforcerWith(clock, false, WithNetShaper(sh), WithDiskQuotas(newFakeQuotas()))
	ctx := context.Background()
	for range 5 {
		e.Tick(ctx)
		clock.Add(time.Second)
	}
	applies, _, lookups := sh.calls()
	if len(applies) != 0 || lookups != 1 {
		t.Fatalf("%d applies, %d lookups in 5 ticks; want 0 and 1", len(applies), lookups)
	}
	var netErrs []string
	for _, s := range viewOf(e, cg).Errors {
		if strings.HasPrefix(s, "net:") {
			netErrs = append(netErrs, s)
		}
	}
	if len(netErrs) != 1 || !strings.Contains(netErrs[0], "not a veth pair") {
		t.Fatalf("container errors %q, want one net error", netErrs)
	}
	if evs := eventsOf(e, "error"); len(evs) != 1 {
		t.Fatalf("%d error events, want 1: %+v", len(evs), evs)
	}
	// After Resync it looks again (the network may have been set up since).
	clock.Add(30 * time.Second)
	e.Tick(ctx)
	if _, _, lookups = sh.calls(); lookups != 2 {
		t.Fatalf("%d lookups after resync, want 2", lookups)
	}
	if evs := eventsOf(e, "error"); len(evs) != 1 {
		t.Fatalf("the same failure was recorded again: %d error events", len(evs))
	}
}

func TestBitRate(t *testing.T) {
	t.Parallel()
	for in, want := range map[uint64]string{20e6: "20Mbit/s", 1_500_000_000: "1.5Gbit/s", 64_000: "64Kbit/s", 999: "999bit/s"} {
		if got := bitRate(in); got != want {
			t.Errorf("bitRate(%d) = %q, want %q", in, got, want)
		}
	}
}
