package enforcer

import (
	"context"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// counterOf is the published container's counters at cg.
func counterOf(t *testing.T, e *Enforcer, cg string) view.ContainerView {
	t.Helper()
	for _, c := range e.View().Containers {
		if c.Cgroup == cg {
			return c
		}
	}
	t.Fatalf("%s not in the view", cg)
	return view.ContainerView{}
}

// The view carries each container's cumulative kernel counters, as read,
// pass after pass; a pass whose cpu.stat cannot be parsed keeps the last
// good value (never a zero that metrics would take for a reset) and
// counts an error.
func TestCountersFollowTheKernelAcrossPasses(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", acmePolicy)
	cg := h.container(idA, "acme-web", 1_500_000)
	h.file("cgroup/"+cg+"/io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=3 wios=4\n")
	h.file("cgroup/"+cg+"/cpu.pressure", "some avg10=1.00 avg60=0.00 avg300=0.00 total=2500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=500000\n")
	h.file("proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3000000\n")
	clock := newClock()
	e := h.enforcer(clock)
	tick := func() {
		clock.Add(time.Second)
		e.Tick(context.Background())
	}
	tick()
	c := counterOf(t, e, cg).Usage.Counters
	if c.CPU == nil || c.CPU.UsageSeconds != 1.5 || c.IO == nil || *c.IO != (view.IOCounters{ReadBytes: 4097, WriteBytes: 8194, ReadOps: 4, WriteOps: 6}) {
		t.Fatalf("counters after pass 1 = cpu %+v io %+v", c.CPU, c.IO)
	}
	if p := c.Pressure[0]; p == nil || p.SomeSeconds != 2.5 || p.FullSeconds != 0.5 || !p.HasFull {
		t.Errorf("cpu pressure totals = %+v, want some 2.5 s, full 0.5 s", p)
	}
	if c.Pressure[1] != nil {
		t.Errorf("memory.pressure does not exist, but its totals are %+v", c.Pressure[1])
	}
	if hp := e.View().Host.Pressure; hp[1] == nil || hp[1].SomeSeconds != 7 || hp[1].FullSeconds != 3 || hp[0] != nil {
		t.Errorf("host pressure totals = %+v, want memory some 7 s, full 3 s, and no cpu (unreadable)", hp)
	}

	h.file("cgroup/"+cg+"/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 300000\n")
	tick()
	c = counterOf(t, e, cg).Usage.Counters
	if want := (view.CPUCounters{UsageSeconds: 2.5, UserSeconds: 2, SystemSeconds: 0.5, Throttling: true, Periods: 10, ThrottledPeriods: 4, ThrottledSeconds: 0.3}); c.CPU == nil || *c.CPU != want {
		t.Fatalf("cpu counters after pass 2 = %+v, want %+v", c.CPU, want)
	}

	h.file("cgroup/"+cg+"/cpu.stat", "garbage\n")
	before := e.View().Loop.ErrorsTotal
	tick()
	cv := counterOf(t, e, cg)
	if cv.Usage.Counters.CPU == nil || cv.Usage.Counters.CPU.UsageSeconds != 2.5 {
		t.Errorf("after an unparsable cpu.stat the counter is %+v, want the last good 2.5 s", cv.Usage.Counters.CPU)
	}
	if cv.ErrorsTotal == 0 || e.View().Loop.ErrorsTotal <= before {
		t.Errorf("the failed read was not counted: container %d, loop %d (was %d)", cv.ErrorsTotal, e.View().Loop.ErrorsTotal, before)
	}
}
