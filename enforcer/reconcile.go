package enforcer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
)

// sliceControllers are enabled on the way to tenant slices.
var sliceControllers = []string{"cpu", "cpuset", "io", "memory", "pids"}

// reconcile makes each cgroup's files match its plan: it reads what is
// there, writes only what differs (keeping the original of every file the
// first time quell changes it), reads back and verifies. Files quell changed
// that no plan wants any more, and cgroups that left policy, get their
// originals back. It returns the number of cgroups with errors.
func (e *Enforcer) reconcile(ctx context.Context, plans []plan) int {
	errs := 0
	wanted := map[string]map[string]bool{}
	var pending []*pendingWrite
	for i := range plans {
		p := &plans[i]
		files := p.files
		if files == nil || p.err != nil {
			files = map[string]bool{}
			for _, w := range p.res.Writes() {
				files[origKey(w.File, w.Value)] = true
			}
		}
		if p.err != nil {
			// The desired state could not be computed (say an io device
			// vanished): keep what quell set rather than lifting it all.
			for f := range e.store.Originals(p.cgroup) {
				files[f] = true
			}
		}
		wanted[p.cgroup] = files
		if p.t != nil {
			p.t.quota, p.t.last = p.quota, p.res
		} else {
			e.sliceQuota[p.tenant], e.sliceLast[p.tenant] = p.quota, p.res
		}
		pw, err := e.prepare(ctx, p)
		if err != nil {
			errs++
			e.log.Warn("reconcile", "cgroup", p.cgroup, "tenant", p.tenant, "err", err)
		}
		if pw != nil {
			pending = append(pending, pw)
		}
	}
	// One durable save of every original about to change, then the writes
	// (a save per cgroup would be an fsync per container when a thousand
	// appear at once).
	if len(pending) > 0 {
		if err := e.save(); err != nil {
			e.log.Error("save originals before writing; writing nothing this tick", "err", err)
			return errs + len(pending)
		}
	}
	for _, pw := range pending {
		if err := e.write(ctx, pw); err != nil {
			errs++
			e.log.Warn("reconcile", "cgroup", pw.p.cgroup, "tenant", pw.p.tenant, "err", err)
		}
	}
	// Restore what no plan wants any more. Without a valid policy nothing
	// is restored: a bad policy file at start must not lift every limit.
	if e.currentPolicy() == nil {
		return errs
	}
	for _, cg := range e.store.Cgroups() {
		var back []limits.Write
		var keys []string
		w := wanted[cg]
		e.store.EachOriginal(cg, func(k, v string) {
			if !w[k] {
				back = append(back, limits.Write{File: fileOfKey(k), Value: v})
				keys = append(keys, k)
			}
		})
		if len(back) == 0 {
			continue
		}
		sort.Slice(back, func(a, b int) bool { return back[a].File < back[b].File })
		if e.cfg.DryRun {
			continue
		}
		e.restoreUnit(ctx, cg, back) // systemd first, or a daemon-reload would bring quell's values back
		err := e.fs.Restore(ctx, cg, back)
		if errors.Is(err, limits.ErrGone) {
			e.store.Forget(cg)
			continue
		}
		if err != nil {
			errs++
			e.log.Warn("restore originals", "cgroup", cg, "err", err)
			continue
		}
		for _, k := range keys {
			e.store.ForgetFile(cg, k)
		}
		e.events.add(view.Event{Time: e.clock.Now(), Kind: "restore", Cgroup: cg, Target: idOf(cg, e.known),
			Reason: "no longer wanted by the policy; originals restored", After: writesString(back)})
	}
	return errs
}

func idOf(cg string, known map[string]*tracked) string {
	if t, ok := known[cg]; ok {
		return t.c.ID
	}
	return cg
}

// pendingWrite is a plan whose changes are known and whose originals are
// recorded, waiting for the state to reach the disk before the kernel is
// touched.
type pendingWrite struct {
	p    *plan
	ws   []limits.Write
	diff []limits.Change // of ws, against what prepare read
	vals map[string]string
	told map[string]bool
}

// maxTold bounds the reasons remembered per cgroup (a penalty's reason
// names its end, so each throttle adds one).
const maxTold = 64

// apply reconciles one plan now: prepare, save the originals, write.
func (e *Enforcer) apply(ctx context.Context, p *plan) error {
	pw, err := e.prepare(ctx, p)
	if pw == nil || err != nil {
		return err
	}
	// Keep the originals on disk before touching the kernel.
	if err := e.save(); err != nil {
		return fmt.Errorf("save originals before writing: %w", err)
	}
	return e.write(ctx, pw)
}

// prepare reads what p's cgroup holds, diffs it against the plan and, when
// something must change, records the originals and returns the pending
// write (nil when nothing is to be written, or in dry-run).
func (e *Enforcer) prepare(ctx context.Context, p *plan) (*pendingWrite, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.t == nil && !e.cfg.DryRun && !e.slices[p.cgroup] { // a tenant slice: make sure it exists
		if e.units != nil {
			if err := e.units.EnsureSlice(ctx, p.cgroup, p.res); err != nil {
				return nil, fmt.Errorf("create tenant slice through systemd: %w", err)
			}
		} else if err := e.fs.Mkdir(p.cgroup, sliceControllers...); err != nil {
			return nil, fmt.Errorf("create tenant slice: %w", err)
		}
		e.slices[p.cgroup] = true
	}
	wanted := p.writes
	if wanted == nil {
		wanted = p.res.Writes()
	}
	if wanted == nil {
		// Nothing wanted (a tenant without limits) is still a plan that
		// can be settled: not nil, which means "read again next pass".
		wanted = noWrites
	}
	ws := wanted // less the files the kernel does not offer, below
	if prev, ok := e.applied[p.cgroup]; ok && prev.settled(wanted, e.beats) {
		// Nothing to change last time and the same wanted values: the
		// kernel is re-read every verifyEvery passes, not every pass (8
		// limit files per container per second add up at 10,000 cgroups).
		// A value changed behind quelld's back is put back within that.
		prev.why, prev.by = p.why, p.by
		e.applied[p.cgroup] = prev
		if p.t != nil && len(prev.missing) > 0 {
			p.t.errs = append(p.t.errs, prev.missing...)
		}
		return nil, nil
	}
	cur, err := e.currentOf(p.cgroup, ws)
	if err != nil && p.t == nil && e.cfg.DryRun && errors.Is(err, limits.ErrGone) {
		cur, err = nil, nil // the slice does not exist yet: all of it is new
	}
	var missing []string
	if err != nil && errors.Is(err, limits.ErrMissing) {
		// One file the kernel does not offer (its controller is not enabled
		// here, swap accounting is off, …) must not block the others.
		cur, ws, missing, err = e.currentEach(p.cgroup, ws)
	}
	if err != nil {
		return nil, err
	}
	if p.t != nil && len(missing) > 0 {
		p.t.errs = append(p.t.errs, missing...)
	}
	if prev, ok := e.applied[p.cgroup]; ok && len(missing) == 0 && prev.asLeft(wanted, cur) {
		// Read again and found as the last read left it, with the same
		// plan: nothing was changed behind quell's back (no runtime
		// change to adopt) and nothing is to be written.
		prev.why, prev.by = p.why, p.by
		prev.verified = e.beats - jitter(p.cgroup)
		e.applied[p.cgroup] = prev
		return nil, nil
	}
	// A limit the runtime changed since is its new original: left as it
	// is this pass, and the ceiling of the next plan.
	adopted := e.adoptRuntime(p, cur)
	if len(adopted) > 0 {
		cur, ws = without(cur, adopted), without(ws, adopted)
		// Not through systemd either (write sets p.res on the unit).
		r, err := limits.ParseWrites(without(p.res.Writes(), adopted))
		if err != nil {
			return nil, fmt.Errorf("plan without the runtime's new limits: %w", err)
		}
		p.res = r
	}
	diff := e.fs.Diff(cur, ws)
	changes := make([]view.Change, 0, len(diff))
	for _, d := range diff {
		changes = append(changes, view.Change{File: d.File, Old: d.Old, New: d.New, Why: p.why[d.File]})
	}
	told := e.applied[p.cgroup].told
	if told == nil || len(told) > maxTold {
		told = map[string]bool{}
	}
	vals := make(map[string]string, len(cur))
	for _, w := range cur {
		vals[origKey(w.File, w.Value)] = w.Value
	}
	as := appliedSet{tenant: p.tenant, changes: changes, why: p.why, by: p.by, values: vals,
		wanted: wanted, missing: missing, verified: e.beats - jitter(p.cgroup), told: told}
	if len(adopted) > 0 {
		as.wanted = nil // read again next pass, with the new ceiling planned
	}
	e.applied[p.cgroup] = as
	if len(diff) == 0 || e.cfg.DryRun {
		return nil, nil
	}
	for _, d := range diff {
		key := origKey(d.File, d.New)
		e.store.RecordOriginal(p.cgroup, key, d.Old)
		if p.t != nil {
			e.store.RecordWritten(p.cgroup, key, d.New) // saved with the originals, before the write
		}
	}
	return &pendingWrite{p: p, ws: ws, diff: diff, vals: vals, told: told}, nil
}

// write makes a prepared change: through systemd for systemd-owned units,
// then cgroupfs with read-back.
func (e *Enforcer) write(ctx context.Context, pw *pendingWrite) error {
	p, ws, vals, told := pw.p, pw.ws, pw.vals, pw.told
	viaUnit := false
	if e.units != nil {
		ok, err := e.units.SetUnit(ctx, p.cgroup, p.res)
		if err != nil {
			e.log.Warn("set unit properties through systemd; falling back to cgroupfs", "cgroup", p.cgroup, "err", err)
		}
		viaUnit = ok
	}
	var res []limits.Result
	var err error
	if viaUnit {
		// systemd wrote some files since prepare read them: read again.
		res, err = e.fs.Apply(ctx, p.cgroup, ws)
	} else {
		res, err = e.fs.ApplyChanges(ctx, p.cgroup, pw.diff)
	}
	var bad []string
	for _, r := range res {
		if r.Err == nil {
			vals[origKey(r.File, r.Wanted)] = r.Got
		} else {
			delete(vals, origKey(r.File, r.Wanted))
		}
		if r.Err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", r.File, r.Err))
		}
		// An event when quell first sets a file, or sets it for a reason not
		// told before on this cgroup. The routine re-division of a split
		// (same reason, new share), or a share moving back and forth across
		// a per-container cap (two reasons, each told once), is not news and
		// would flood the log every interval.
		if k := r.File + "\x00" + p.why[r.File]; r.Changed && !told[k] {
			told[k] = true
			after := r.Got
			if r.Rounded {
				after += " (kernel rounded " + r.Wanted + ")"
			}
			if r.Reclaiming {
				after += " (in force; the kernel reclaims down to it in the background)"
			}
			e.events.add(view.Event{Time: e.clock.Now(), Kind: "limit", Tenant: p.tenant, Cgroup: p.cgroup,
				Target: idOf(p.cgroup, e.known), Reason: r.File + ": " + p.why[r.File], Before: r.Old, After: after})
		}
	}
	if p.t != nil {
		p.t.errs = append(p.t.errs, bad...)
	}
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

func writesString(ws []limits.Write) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.File + "=" + w.Value
	}
	return strings.Join(parts, ", ")
}

// origKey is the key an original is kept under: the file name, except for
// io.max, whose lines are per device ("io.max 8:0"), so each device's
// original is kept and restored on its own. An io.max value that does not
// parse (never one quell writes or the kernel prints) is keyed by the file.
func origKey(file, value string) string {
	if file == "io.max" {
		if r, err := limits.ParseWrites([]limits.Write{{File: file, Value: value}}); err == nil && len(r.IOMax) == 1 {
			return fmt.Sprintf("io.max %d:%d", r.IOMax[0].Major, r.IOMax[0].Minor)
		}
	}
	return file
}

// fileOfKey is the cgroup file an original's key names.
func fileOfKey(key string) string {
	file, _, _ := strings.Cut(key, " ")
	return file
}

// without is ws less the writes whose original key is in keys.
func without(ws []limits.Write, keys map[string]bool) []limits.Write {
	out := make([]limits.Write, 0, len(ws))
	for _, w := range ws {
		if !keys[origKey(w.File, w.Value)] {
			out = append(out, w)
		}
	}
	return out
}

// currentEach reads ws one by one, leaving out the files that do not exist
// and naming them (with the likely reason) in missing.
func (e *Enforcer) currentEach(cg string, ws []limits.Write) (cur, kept []limits.Write, missing []string, err error) {
	for _, w := range ws {
		c, err := e.fs.Current(cg, []limits.Write{w})
		if errors.Is(err, limits.ErrMissing) {
			missing = append(missing, fmt.Sprintf("%s: not offered by the kernel here (controller not enabled for this cgroup, or accounting off); not set", w.File))
			continue
		}
		if err != nil {
			return nil, nil, nil, err
		}
		cur = append(cur, c...)
		kept = append(kept, w)
	}
	return cur, kept, missing, nil
}

// currentOf reads what cg holds for ws: through the directory observe
// keeps open when there is one (a plain-name openat instead of a walk of
// the whole path: the verify reads of settled containers are most of
// reconcile's cost), else, or after any error there (a cgroup recreated
// since the open reads as missing files), by path.
func (e *Enforcer) currentOf(cg string, ws []limits.Write) ([]limits.Write, error) {
	if o := e.obs.m[cg]; o != nil && o.dir != nil {
		if cur, err := o.dir.Current(ws); err == nil {
			return cur, nil
		}
	}
	return e.fs.Current(cg, ws)
}

// noWrites is a plan's writes when it wants none.
var noWrites = []limits.Write{}

// verifyEvery is how many scheduled passes (Enforcer.beats: PSI wake-ups
// do not count) a settled cgroup's limit files go unread (see
// appliedSet.settled).
const verifyEvery = 5

// jitter spreads the re-reads of cgroups verified in the same pass over
// the next verifyEvery passes.
func jitter(cg string) uint64 {
	return uint64(fnv32(cg) % verifyEvery) // FNV-1a
}

// asLeft reports whether a re-read of the cgroup (cur, for the writes
// wanted) finds it as the last read left it: the same plan, nothing to
// change then, nothing missing, and every value exactly as read then.
func (a appliedSet) asLeft(wanted, cur []limits.Write) bool {
	if len(a.changes) != 0 || a.wanted == nil || len(a.missing) != 0 || !slices.Equal(a.wanted, wanted) || len(cur) != len(a.values) {
		return false
	}
	for _, w := range cur {
		v, ok := a.values[origKey(w.File, w.Value)]
		if !ok || v != w.Value {
			return false
		}
	}
	return true
}

// settled reports whether the cgroup needs no read this pass: the last
// read found nothing to change, quell still wants the same writes, and it
// was read fewer than verifyEvery passes ago.
func (a appliedSet) settled(wanted []limits.Write, tick uint64) bool {
	return len(a.changes) == 0 && a.wanted != nil && slices.Equal(a.wanted, wanted) && tick-a.verified < verifyEvery
}
