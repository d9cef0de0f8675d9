package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/quell-dev/quell/limits/tc"
)

// netCase shapes one veth with tc.Shaper at each rate and measures
// egress and ingress by the host veth's link counters; the first second's
// bits vs the set rate is the overshoot.
func netCase(rates []uint64, smoke bool) Case {
	return Case{Section: Fidelity, Name: fmt.Sprintf("network %v Mbit", rates), Est: time.Duration(len(rates)) * 22 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			b, err := newNetBox(7)
			if err != nil {
				return nil, err
			}
			defer b.Close()
			sh, err := tc.NewShaper("")
			if err != nil {
				return nil, err
			}
			defer sh.Close()
			defer sh.Remove(ctx, "bench")
			win := pick(smoke, 4*time.Second, 8*time.Second)
			// Unshaped capacity of the emulated path: a rate near or above it
			// cannot be proven here, and the row says so.
			base := map[bool]float64{}
			for _, egress := range []bool{true, false} {
				r, _, err := measureNet(b, egress, pick(smoke, 2*time.Second, 4*time.Second))
				if err != nil {
					return nil, err
				}
				base[egress] = r
			}
			var rs []Result
			for _, mbit := range rates {
				set := mbit * 1_000_000
				if _, err := sh.Apply(ctx, "bench", b.HostVeth, tc.NetSpec{Tenant: "bench", EgressBits: set, IngressBits: set}); err != nil {
					return rs, err
				}
				for _, egress := range []bool{true, false} {
					dir := map[bool]string{true: "egress", false: "ingress"}[egress]
					rate, first, err := measureNet(b, egress, win)
					if err != nil {
						return rs, err
					}
					note := ""
					if float64(set) > 0.9*base[egress] {
						note = fmt.Sprintf("unshaped path reaches only %.1f Mbit/s in this guest: this rate cannot be proven here", base[egress]/1e6)
					}
					rs = append(rs, Result{Note: note, Control: "net " + dir, Case: fmt.Sprintf("net %s %d Mbit", dir, mbit), Set: float64(mbit),
						Achieved: round(rate/1e6, 3), Unit: "Mbit/s",
						Extra:  map[string]float64{"first_second_mbit": round(first/1e6, 2), "first_second_overshoot": round(first/float64(set), 3), "unshaped_mbit": round(base[egress]/1e6, 1)},
						Method: fmt.Sprintf("one TCP stream over a veth, tc.Shaper (HTB/IFB); host veth link counters over %v", win)}.WithError())
				}
			}
			return rs, nil
		}}
}
