package enforcer

import (
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
)

// setCounters copies the cumulative counters of one read into c. A group
// whose file was not read (nil in st) keeps its last value: a failed read
// is never a zero, and a counter never drops to one.
func setCounters(c *view.Counters, st limits.Stats) {
	if st.CPU != nil {
		s := st.CPU
		c.CPU = &view.CPUCounters{UsageSeconds: usec(s.UsageUsec), UserSeconds: usec(s.UserUsec), SystemSeconds: usec(s.SystemUsec),
			Throttling: s.Throttling, Periods: s.NrPeriods, ThrottledPeriods: s.NrThrottled, ThrottledSeconds: usec(s.ThrottledUsec)}
	}
	if st.IO != nil {
		io := &view.IOCounters{}
		for _, d := range st.IO.Devices {
			io.ReadBytes += d.RBytes
			io.WriteBytes += d.WBytes
			io.ReadOps += d.RIOs
			io.WriteOps += d.WIOs
		}
		c.IO = io
	}
}

// stallOf is a pressure file's totals in seconds.
func stallOf(p limits.PSI) *view.StallCounters {
	return &view.StallCounters{SomeSeconds: usec(p.Some.Total), FullSeconds: usec(p.Full.Total), HasFull: p.HasFull}
}

func usec(v uint64) float64 { return float64(v) / 1e6 }
