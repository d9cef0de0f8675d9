package benchmarks

import (
	"context"
	"fmt"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// newNetBox makes box n: host side bqv<n> 10.78.<n>.1/30, box side eth0 .2
// (the tests use qv<n> and 10.77, so a leftover of one never meets the
// other).
func newNetBox(n int) (*labkit.NetBox, error) {
	return labkit.NewNetBox(fmt.Sprintf("bqv%d", n), fmt.Sprintf("10.78.%d.1", n), fmt.Sprintf("10.78.%d.2", n))
}

// measureNet streams across b for d and returns wire bits/s over d and
// the bits in the first second.
func measureNet(b *labkit.NetBox, egress bool, d time.Duration) (rate, first float64, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.Stream(ctx, egress, nil); err != nil {
		return 0, 0, err
	}
	w0, err := b.WireBytes(egress)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	time.Sleep(time.Second)
	w1, _ := b.WireBytes(egress)
	time.Sleep(d - time.Second)
	w2, _ := b.WireBytes(egress)
	return (w2 - w0) * 8 / time.Since(start).Seconds(), (w1 - w0) * 8, nil
}
