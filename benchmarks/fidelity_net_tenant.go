package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/quell-dev/quell/limits/tc"
	"github.com/quell-dev/quell/test/labkit"
)

// netTenantCase: one tenant with an aggregate egress and ingress limit
// (tc.NetSpec TenantEgressBits/TenantIngressBits, quell's [tenant.limits]
// net) and two containers (veths) with no cap of their own, each running
// one TCP stream at the same time; achieved = the sum of both host veths'
// link counters vs the tenant rate. No cgroup takes part (the streams are
// the bench's own sockets in the boxes' namespaces), so there is nothing
// for the cgroup cross-check to read.
func netTenantCase(mbit uint64, smoke bool) Case {
	return Case{Section: Fidelity, Name: fmt.Sprintf("network tenant aggregate %d Mbit, 2 veths", mbit), Est: 24 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			var boxes []*labkit.NetBox
			for _, n := range []int{8, 9} {
				b, err := newNetBox(n)
				if err != nil {
					return nil, err
				}
				defer b.Close()
				boxes = append(boxes, b)
			}
			sh, err := tc.NewShaper("")
			if err != nil {
				return nil, err
			}
			defer sh.Close()
			set := mbit * 1_000_000
			for i, b := range boxes {
				id := fmt.Sprintf("bench-agg-%d", i)
				defer sh.Remove(ctx, id)
				if _, err := sh.Apply(ctx, id, b.HostVeth, tc.NetSpec{Tenant: "benchagg", TenantEgressBits: set, TenantIngressBits: set}); err != nil {
					return nil, err
				}
			}
			win := pick(smoke, 4*time.Second, 8*time.Second)
			var rs []Result
			for _, egress := range []bool{true, false} {
				dir := map[bool]string{true: "egress", false: "ingress"}[egress]
				each, first, secs, err := measureNetSum(boxes, egress, win)
				if err != nil {
					return rs, err
				}
				sum := (each[0] + each[1]) / secs
				rs = append(rs, Result{Control: "net tenant " + dir, Case: fmt.Sprintf("net tenant %s %d Mbit over 2 veths", dir, mbit), Set: float64(mbit),
					Achieved: round(sum*8/1e6, 3), Unit: "Mbit/s",
					Extra: map[string]float64{"veth_a_mbit": round(each[0]*8/secs/1e6, 2), "veth_b_mbit": round(each[1]*8/secs/1e6, 2),
						"first_second_mbit": round(first*8/1e6, 2), "first_second_overshoot": round(first*8/float64(set), 3)},
					Method: fmt.Sprintf("tenant aggregate only (tc.Shaper, both veths into the tenant's IFB, one HTB class for the tenant); one TCP stream per veth at once; sum of both host veths' link counters over %v", win)}.WithError())
			}
			return rs, nil
		}}
}

// measureNetSum streams across every box at once for d and returns the
// wire bytes each box moved over d, the bytes all moved in the first
// second and the seconds measured.
func measureNetSum(boxes []*labkit.NetBox, egress bool, d time.Duration) (each []float64, first, secs float64, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, b := range boxes {
		if err := b.Stream(ctx, egress, nil); err != nil {
			return nil, 0, 0, err
		}
	}
	read := func() ([]float64, error) {
		out := make([]float64, len(boxes))
		for i, b := range boxes {
			w, err := b.WireBytes(egress)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
		return out, nil
	}
	w0, err := read()
	if err != nil {
		return nil, 0, 0, err
	}
	start := time.Now()
	time.Sleep(time.Second)
	w1, err := read()
	if err != nil {
		return nil, 0, 0, err
	}
	time.Sleep(d - time.Second)
	w2, err := read()
	if err != nil {
		return nil, 0, 0, err
	}
	secs = time.Since(start).Seconds()
	each = make([]float64, len(boxes))
	for i := range boxes {
		each[i] = w2[i] - w0[i]
		first += w1[i] - w0[i]
	}
	return each, first, secs, nil
}
