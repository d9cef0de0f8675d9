package enforcer

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/prometheus/procfs"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
)

// loopStats are the files the loop reads per container per interval.
var loopStats = map[string]bool{"cpu.stat": true, "memory.current": true, "memory.swap.current": true,
	"memory.events": true, "io.stat": true, "pids.current": true}

// observe reads each container's counters and turns them into rates over
// the time since the last read. A failed read leaves the previous usage in
// place (marked by the error), never a made-up zero.
func (e *Enforcer) observe(now time.Time) int {
	errs := 0
	for cg, t := range e.known {
		st, err := e.fs.StatsOf(cg, loopStats)
		// Rates are over the time between this cgroup's own reads, not
		// between tick starts: reading many cgroups takes a while, and a
		// loaded host stretches it.
		now = e.clock.Now()
		t.errs = t.errs[:0]
		if errors.Is(err, limits.ErrGone) {
			e.RequestRescan()
			continue
		}
		if err != nil {
			t.errs = append(t.errs, err.Error())
			errs++
		}
		if st.CPU != nil && t.prev.CPU != nil && st.CPU.UsageUsec < t.prev.CPU.UsageUsec {
			// The counter went back: the cgroup was removed and made again
			// under the same path (a restarted container) with the kernel's
			// defaults. Reconcile must read it now, not at its next check,
			// and discovery must read its runtime metadata again (a new
			// init PID) on the next pass, even if inotify missed it.
			delete(e.applied, cg)
			e.RequestRescan()
		}
		if !t.prevT.IsZero() && now.Sub(t.prevT) < minRateWindow(e.cfg.Interval) {
			// Too soon after the last read (a PSI trigger woke the loop):
			// a rate over a few milliseconds is mostly timing noise. Take
			// the gauges now; rates keep their last value and are computed
			// over the full window on a later tick.
			u := usageFrom(limits.Stats{}, st, t.prevT, now, t.usage)
			u.At = now
			e.cgroupPSI(cg, t, now, &u)
			t.usage = u
			continue
		}
		u := usageFrom(t.prev, st, t.prevT, now, t.usage)
		u.At = now
		e.cgroupPSI(cg, t, now, &u)
		t.usage = u
		t.prev, t.prevT = st, now
	}
	return errs
}

// minRateWindow is the shortest span a rate is computed over: half the
// interval, but never more than 500 ms, so that with a long interval a
// pass woken by a PSI trigger still sees who started using the CPU (with
// interval/2 at a 5 s interval, no rate moved for 2.5 s after a pass and
// no culprit could be ranked).
func minRateWindow(interval time.Duration) time.Duration {
	return min(interval/2, 500*time.Millisecond)
}

// usageFrom computes rates from two reads dt apart; gauges are taken as is.
// A counter that went backwards (a recreated cgroup) gives no rate.
func usageFrom(prev, cur limits.Stats, prevT, now time.Time, last view.Usage) view.Usage {
	u := last
	setCounters(&u.Counters, cur)
	dt := now.Sub(prevT).Seconds()
	if cur.CPU != nil && prev.CPU != nil && dt > 0 && cur.CPU.UsageUsec >= prev.CPU.UsageUsec {
		u.CPUs = float64(cur.CPU.UsageUsec-prev.CPU.UsageUsec) / 1e6 / dt
		u.Window = dt
		if cur.CPU.Throttling && prev.CPU.Throttling && cur.CPU.NrPeriods > prev.CPU.NrPeriods {
			u.ThrottledPct = 100 * float64(cur.CPU.NrThrottled-prev.CPU.NrThrottled) / float64(cur.CPU.NrPeriods-prev.CPU.NrPeriods)
		} else {
			u.ThrottledPct = 0
		}
	}
	if cur.MemoryCurrent != nil {
		u.MemoryBytes = int64(*cur.MemoryCurrent)
	}
	if cur.SwapCurrent != nil {
		u.SwapBytes = int64(*cur.SwapCurrent)
	}
	if cur.PidsCurrent != nil {
		u.Pids = int64(*cur.PidsCurrent)
	}
	if cur.MemoryEvents != nil {
		u.OOMKills = cur.MemoryEvents.OOMKill
	}
	if cur.IO != nil && prev.IO != nil && dt > 0 {
		r, w := ioRate(prev.IO, cur.IO)
		u.IOReadBps, u.IOWriteBps = r/dt, w/dt
	}
	return u
}

func ioRate(prev, cur *limits.IOStat) (r, w float64) {
	for _, d := range cur.Devices {
		p, ok := prev.Device(d.Major, d.Minor)
		if !ok || d.RBytes < p.RBytes || d.WBytes < p.WBytes {
			continue
		}
		r += float64(d.RBytes - p.RBytes)
		w += float64(d.WBytes - p.WBytes)
	}
	return r, w
}

// psiResources are the pressure sources, in the order of the [3] arrays.
var psiResources = [3]string{"cpu", "memory", "io"}

// cgroupPSI reads the cgroup's pressure files (best effort: PSI may be off)
// into t, for tenant signals, and their some avg10 into u, for the view.
func (e *Enforcer) cgroupPSI(cg string, t *tracked, now time.Time, u *view.Usage) {
	dir := filepath.Join(e.cfg.CgroupRoot, cg)
	dst := [3]*float64{&u.CPUPressure, &u.MemoryPressure, &u.IOPressure}
	for i, r := range psiResources {
		p, err := limits.ReadPSI(filepath.Join(dir, r+".pressure"))
		t.psiOK[i] = err == nil
		if err != nil {
			continue
		}
		t.psi[i] = p
		t.psiWin[i].add(now, p)
		u.Counters.Pressure[i] = stallOf(p)
		*dst[i] = p.Some.Avg10
	}
}

// observeHost reads host PSI and memory.
func (e *Enforcer) observeHost() view.HostView {
	h := view.HostView{CPUs: hostCPUs(), Signals: map[string]float64{}}
	e.readHostPSI(func(name string, v float64) { h.Signals[name] = v })
	e.hostMu.Lock()
	h.Pressure = e.hostStall
	e.hostMu.Unlock()
	if fs, err := procfs.NewFS(e.cfg.ProcRoot); err == nil {
		if mi, err := fs.Meminfo(); err == nil {
			if mi.MemTotalBytes != nil {
				h.MemTotal = int64(*mi.MemTotalBytes)
			}
			if mi.MemAvailableBytes != nil {
				h.MemAvailable = int64(*mi.MemAvailableBytes)
				if h.MemTotal > 0 { // percent of MemTotal, as the policy defines it
					h.Signals["host.memory.available"] = 100 * float64(h.MemAvailable) / float64(h.MemTotal)
				}
			}
		}
	}
	return h
}

// hostSampleEvery is how often host PSI totals are sampled between passes.
const hostSampleEvery = 250 * time.Millisecond

// sampleHost keeps the host's .avg1 windows fed between passes, so that a
// pass woken by a PSI trigger right after a quiet spell sees the last
// second's stall, not one averaged back to the previous pass (up to an
// interval ago): 3 small reads 4 times a second.
func (e *Enforcer) sampleHost(ctx context.Context) {
	t := time.NewTicker(hostSampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.readHostPSI(nil)
	}
}

// readHostPSI reads /proc/pressure/{cpu,memory,io} into the host's .avg1
// windows and, when put is not nil, gives it every host PSI signal. A file
// that cannot be read gives no signal (never a zero).
func (e *Enforcer) readHostPSI(put func(string, float64)) {
	now := e.clock.Now()
	e.hostMu.Lock()
	defer e.hostMu.Unlock()
	for i, r := range psiResources {
		p, err := limits.ReadPSI(filepath.Join(e.cfg.ProcRoot, "pressure", r))
		if err != nil {
			continue
		}
		e.hostPSI[i].add(now, p)
		e.hostStall[i] = stallOf(p)
		if put != nil {
			psiSignals("host."+r, p, &e.hostPSI[i], put)
		}
	}
}
