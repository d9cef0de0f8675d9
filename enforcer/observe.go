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

// loopStats are the files the loop reads per container on a full read,
// besides cpu.stat (read every pass; see observeState).
var loopStats = map[string]bool{"memory.current": true, "memory.swap.current": true,
	"memory.events": true, "io.stat": true, "pids.current": true}

// nowEvery: see observe.
const nowEvery = 32

// cpuStatOnly is the read of cpu.stat through StatsOf, for a cgroupFS
// that cannot keep a file open.
var cpuStatOnly = map[string]bool{"cpu.stat": true}

// observe reads each container's counters and turns them into rates over
// the time since the last read. A failed read leaves the previous usage in
// place (marked by the error), never a made-up zero.
//
// An idle container costs one read: when its cpu.stat is unchanged since
// the last pass and its last full read found nothing moving (no I/O, no
// pressure stall, no error), its other files are not read this pass, and
// its gauges keep their values; every fullEvery passes (at a phase of its
// own, so the full reads spread over the passes) it is read in full
// anyway. A container whose cpu.stat moved is read in full the same pass.
func (e *Enforcer) observe(now time.Time) int {
	errs := 0
	ob := &e.obs
	ob.begin(!e.woken)
	n := 0
	for cg, t := range e.known {
		o := ob.entry(cg)
		cpu, cpuOK, cpuErr := e.readCPU(cg, t, o)
		// Rates are over the time between this cgroup's own reads, not
		// between tick starts: reading many cgroups takes a while, and a
		// loaded host stretches it. An idle container's rate is zero
		// whatever the span, so the clock is read afresh before each
		// full read and only every nowEvery idle ones (a clock read is a
		// syscall's cost under emulation: 4% of quelld's CPU at 1,000
		// idle containers in the lab).
		if n%nowEvery == 0 {
			now = e.clock.Now()
		}
		n++
		if errors.Is(cpuErr, limits.ErrGone) {
			t.errs = t.errs[:0]
			e.RequestRescan()
			continue
		}
		if cpuOK && ob.idle(o, cpu) && !t.prevT.IsZero() {
			t.errs = t.errs[:0]
			if now.Sub(o.cpuT) >= minRateWindow(e.cfg.Interval) {
				cpuRates(&t.usage, o.cpu, cpu, o.cpuT, now)
				o.cpu, o.cpuT = cpu, now
			}
			t.usage.At = now
			continue
		}
		now = e.clock.Now()
		n = 1
		e.fullReads++
		errs += e.observeFull(cg, t, o, now, cpu, cpuOK, cpuErr)
	}
	ob.end()
	return errs
}

// observeFull reads all of t's loop files (cpu.stat was read by the
// caller: cpu, cpuOK, cpuErr) and computes its usage. It returns 1 when a
// read failed.
func (e *Enforcer) observeFull(cg string, t *tracked, o *observed, now time.Time, cpu limits.CPUStat, cpuOK bool, cpuErr error) int {
	errs := 0
	t.errs = t.errs[:0]
	var st limits.Stats
	var err error
	if o.dir != nil {
		st, err = o.dir.Stats(loopStats)
	} else {
		st, err = e.fs.StatsOf(cg, loopStats)
	}
	if errors.Is(err, limits.ErrGone) {
		e.RequestRescan()
		return 0
	}
	if cpuOK {
		c := cpu
		st.CPU = &c
	}
	if err = errors.Join(cpuErr, err); err != nil {
		t.errs = append(t.errs, err.Error())
		errs++
	}
	if cpuOK && o.cpuOK && cpu.UsageUsec < o.cpu.UsageUsec {
		// The counter went back: the cgroup was removed and made again
		// under the same path (a restarted container) with the kernel's
		// defaults. Reconcile must read it now, not at its next check,
		// and discovery must read its runtime metadata again (a new
		// init PID) on the next pass, even if inotify missed it.
		delete(e.applied, cg)
		e.RequestRescan()
	}
	before := t.psi
	if !t.prevT.IsZero() && now.Sub(t.prevT) < minRateWindow(e.cfg.Interval) {
		// Too soon after the last read (a PSI trigger woke the loop):
		// a rate over a few milliseconds is mostly timing noise. Take
		// the gauges now; rates keep their last value and are computed
		// over the full window on a later tick.
		u := usageFrom(limits.Stats{}, st, t.prevT, now, t.usage)
		u.At = now
		e.cgroupPSI(cg, t, o, now, &u)
		t.usage = u
		o.quiet = false
		return errs
	}
	// I/O over the time since the last full read; CPU over the time
	// since the last read of cpu.stat (the same span while every pass is
	// a full read), so that a container that wakes up after idle passes
	// has its CPU rate over the last pass, not diluted over the idle ones.
	// The CPU rate, like the others, only over at least minRateWindow (a
	// pass woken by a PSI trigger right after an idle pass keeps the
	// last rate; the next pass computes it over the whole span).
	prev := t.prev
	prev.CPU = nil
	u := usageFrom(prev, st, t.prevT, now, t.usage)
	cpuDue := !o.cpuOK || now.Sub(o.cpuT) >= minRateWindow(e.cfg.Interval)
	if cpuOK && o.cpuOK && cpuDue {
		cpuRates(&u, o.cpu, cpu, o.cpuT, now)
	}
	u.At = now
	e.cgroupPSI(cg, t, o, now, &u)
	t.usage = u
	t.prev, t.prevT = st, now
	if cpuOK && cpuDue {
		o.cpu, o.cpuOK, o.cpuT = cpu, true, now
	}
	o.quiet = err == nil && cpuOK && u.IOReadBps == 0 && u.IOWriteBps == 0 && psiStill(before, t.psi, t.psiOK)
	return errs
}

// readCPU reads t's cpu.stat: through a file kept open when the cgroupFS
// can (a restarted container's new cgroup is opened anew), else through
// StatsOf. ok is false when nothing was read; err is ErrGone when the
// cgroup is.
func (e *Enforcer) readCPU(cg string, t *tracked, o *observed) (c limits.CPUStat, ok bool, err error) {
	if op, can := e.fs.(statDirOpener); can {
		if o.dir != nil && o.ino != t.found.Ino {
			e.obs.closeDir(o) // made again at the same path: the old files read ENODEV
		}
		for try := 0; try < 2; try++ {
			if o.dir == nil {
				if e.obs.open >= e.obs.budget {
					break // no file descriptor to spare: read by path
				}
				d, err := op.OpenStatDir(cg, e.obs.buf)
				if err != nil {
					if errors.Is(err, limits.ErrGone) {
						return c, false, err
					}
					break // read through StatsOf below, which reports it
				}
				o.dir, o.ino = d, t.found.Ino
				e.obs.open++
			}
			c, err := o.dir.CPUStat()
			if err == nil {
				return c, true, nil
			}
			if !errors.Is(err, limits.ErrGone) {
				return c, false, err
			}
			// Gone, or removed and made again since the open: open it
			// once more (ErrGone then if it is really gone).
			e.obs.closeDir(o)
		}
	}
	st, err := e.fs.StatsOf(cg, cpuStatOnly)
	if st.CPU == nil {
		return c, false, err
	}
	return *st.CPU, true, err
}

// cpuRates sets u's CPU rate and throttled share from two cpu.stat reads
// dt apart. A counter that went backwards (a recreated cgroup) leaves
// them as they were.
func cpuRates(u *view.Usage, prev, cur limits.CPUStat, prevT, now time.Time) {
	dt := now.Sub(prevT).Seconds()
	if dt <= 0 || cur.UsageUsec < prev.UsageUsec {
		return
	}
	u.CPUs = float64(cur.UsageUsec-prev.UsageUsec) / 1e6 / dt
	u.Window = dt
	if cur.Throttling && prev.Throttling && cur.NrPeriods > prev.NrPeriods {
		u.ThrottledPct = 100 * float64(cur.NrThrottled-prev.NrThrottled) / float64(cur.NrPeriods-prev.NrPeriods)
	} else {
		u.ThrottledPct = 0
	}
}

// minRateWindow is the shortest span a rate is computed over: half the
// interval, but never more than 100 ms, so that a pass woken by a PSI
// trigger still sees who started using the CPU. The trigger fires ~0.2 s
// after the stall starts: a pass less than 100 ms before it came after the
// onset and its rate shows the culprit; with 500 ms, a pass 100–500 ms
// before the wake-up (one trial in ten at a 5 s interval) left the
// culprit's rate at its idle 0, nothing could be ranked, and the action
// waited for the trigger's next firing a second later.
func minRateWindow(interval time.Duration) time.Duration {
	return min(interval/2, 100*time.Millisecond)
}

// usageFrom computes rates from two reads dt apart; gauges are taken as is.
// A counter that went backwards (a recreated cgroup) gives no rate.
func usageFrom(prev, cur limits.Stats, prevT, now time.Time, last view.Usage) view.Usage {
	u := last
	setCounters(&u.Counters, cur)
	dt := now.Sub(prevT).Seconds()
	if cur.CPU != nil && prev.CPU != nil {
		cpuRates(&u, *prev.CPU, *cur.CPU, prevT, now)
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

// psiResources are the pressure sources, in the order of the [3] arrays;
// psiFiles their files in a cgroup.
var (
	psiResources = [3]string{"cpu", "memory", "io"}
	psiFiles     = [3]string{"cpu.pressure", "memory.pressure", "io.pressure"}
)

// cgroupPSI reads the cgroup's pressure files (best effort: PSI may be off)
// into t, for tenant signals, and their some avg10 into u, for the view.
func (e *Enforcer) cgroupPSI(cg string, t *tracked, o *observed, now time.Time, u *view.Usage) {
	if o.dir == nil && o.psiPath[0] == "" { // made once: three joins per container per read add up
		dir := filepath.Join(e.cfg.CgroupRoot, cg)
		for i, r := range psiResources {
			o.psiPath[i] = filepath.Join(dir, r+".pressure")
		}
	}
	dst := [3]*float64{&u.CPUPressure, &u.MemoryPressure, &u.IOPressure}
	for i := range psiResources {
		var p limits.PSI
		var err error
		if o.dir != nil {
			p, err = o.dir.PSI(psiFiles[i])
		} else {
			p, err = limits.ReadPSI(o.psiPath[i])
		}
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
