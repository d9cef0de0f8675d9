package enforcer

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// ulimitItem is one resource quell wants on one container's processes.
type ulimitItem struct {
	r          ulimitResource
	orig, want unix.Rlimit
	prev       unix.Rlimit // what quell set before (the original when nothing)
	why, by    string
}

// ulimitItems works out, for container t of tenant ten whose processes are
// procs, what each resource's original (kept, else read) and wanted value
// are. Errors are for t's errors.
func (e *Enforcer) ulimitItems(t *tracked, ten *policies.Tenant, procs []procRef) ([]ulimitItem, []string) {
	var out []ulimitItem
	var errs []string
	kept := e.store.Ulimits(t.c.Cgroup)
	for _, r := range ulimitResources {
		pv := r.of(ten.Container.Ulimits)
		if pv == nil {
			continue
		}
		var orig, prev unix.Rlimit
		if k, ok := kept[r.name]; ok {
			orig, prev = unix.Rlimit{Cur: k.Soft, Max: k.Hard}, unix.Rlimit{Cur: k.WantSoft, Max: k.WantHard}
		} else {
			var err error
			if orig, err = e.ulimitOriginal(t, procs, r.res); err != nil {
				if !errors.Is(err, syscall.ESRCH) {
					errs = append(errs, fmt.Sprintf("ulimits: %s: read the original: %v", r.name, err))
				}
				continue
			}
			prev = orig
		}
		it := ulimitItem{r: r, orig: orig, prev: prev, want: ulimitWant(orig, *pv, ten.Override), by: "policy",
			why: fmt.Sprintf("tenant %s container.ulimits.%s = %d", ten.Name, r.name, *pv)}
		if it.want != (unix.Rlimit{Cur: *pv, Max: *pv}) {
			it.why += "; the runtime's " + fmtRlimit(orig) + " is a ceiling the policy only tightens"
			it.by = "runtime"
		}
		out = append(out, it)
	}
	return out, errs
}

// ulimitTargets is, for each container of p with ulimits, its tenant and
// the resources it sets (also when its processes cannot be listed).
func (e *Enforcer) ulimitTargets(p *policies.Policy) (map[string]*policies.Tenant, map[string]map[string]bool) {
	tens := map[string]*policies.Tenant{}
	wanted := map[string]map[string]bool{}
	for cg, t := range e.known {
		ten := tenantNamed(p, t.c.Tenant)
		if ten == nil || ten.Container.Ulimits == nil {
			continue
		}
		tens[cg] = ten
		wanted[cg] = map[string]bool{}
		for _, r := range ulimitResources {
			if r.of(ten.Container.Ulimits) != nil {
				wanted[cg][r.name] = true
			}
		}
	}
	return tens, wanted
}

// applyUlimits is the loop's ulimit step (see the top of this file). It
// returns the number of containers with errors this pass.
func (e *Enforcer) applyUlimits(p *policies.Policy) int {
	for _, t := range e.known {
		t.ulimits = nil
	}
	if p == nil {
		return 0 // without a valid policy nothing is set, nothing restored
	}
	errs := 0
	tens, wanted := e.ulimitTargets(p)
	for _, cg := range e.sortedKnown() {
		t, ten := e.known[cg], tens[cg]
		if ten == nil {
			continue
		}
		procs, err := e.containerProcs(cg)
		if err != nil {
			if !errors.Is(err, limits.ErrGone) {
				t.errs = append(t.errs, "ulimits: "+err.Error())
				errs++
			}
			continue
		}
		if len(procs) == 0 {
			continue
		}
		items, ierrs := e.ulimitItems(t, ten, procs)
		t.errs = append(t.errs, ierrs...)
		bad := len(ierrs) > 0
		for _, it := range items {
			if !e.cfg.DryRun {
				e.store.RecordUlimit(cg, it.r.name, state.Ulimit{Soft: it.orig.Cur, Hard: it.orig.Max, WantSoft: it.want.Cur, WantHard: it.want.Max})
			}
			o := e.setProcs(cg, procs, it.r.res, func(cur unix.Rlimit) (unix.Rlimit, bool) { return ulimitFor(cur, it.orig, it.prev, it.want) })
			val := fmtRlimit(it.want)
			if o.set > 0 {
				if e.cfg.DryRun {
					val += fmt.Sprintf(" (dry-run: %d processes would be set)", o.set)
				} else if t.ulimitEv[it.r.name] != val+" "+it.why {
					// An event when quell first sets the resource or sets it
					// to a new value; the processes a later docker exec (or
					// a health check) starts are caught quietly.
					if t.ulimitEv == nil {
						t.ulimitEv = map[string]string{}
					}
					t.ulimitEv[it.r.name] = val + " " + it.why
					e.events.add(view.Event{Time: e.clock.Now(), Kind: "limit", Tenant: t.c.Tenant, Cgroup: cg, Target: t.c.ID,
						Reason: fmt.Sprintf("ulimit %s: %s (prlimit on %d processes)", it.r.name, it.why, o.set), Before: fmtRlimit(it.orig), After: val})
				} else {
					e.log.Debug("ulimit set on new processes", "cgroup", cg, "resource", it.r.name, "value", val, "processes", o.set)
				}
			}
			t.ulimits = append(t.ulimits, view.Limit{File: "ulimit " + it.r.name, Value: val, Original: fmtRlimit(it.orig), Why: it.why, DecidedBy: it.by})
			if o.failed > 0 {
				t.errs = append(t.errs, fmt.Sprintf("ulimits: %s: %d of %d processes not set: %s", it.r.name, o.failed, len(procs), o.errs[0]))
				bad = true
			}
		}
		if bad {
			errs++
		}
	}
	if e.cfg.DryRun {
		return errs
	}
	for _, cg := range e.store.UlimitCgroups() {
		if n := e.restoreUlimits(cg, wanted[cg], "no longer wanted by the policy"); n > 0 {
			errs++
		}
	}
	return errs
}

// planUlimits is what `quell plan` shows of ulimits: per container, each
// resource some of whose processes would be set (nothing is set). Kept
// resources the policy no longer sets show as going back to the original.
func (e *Enforcer) planUlimits(p *policies.Policy) map[string][]view.Change {
	out := map[string][]view.Change{}
	tens, wanted := e.ulimitTargets(p)
	for cg, t := range e.known {
		kept := e.store.Ulimits(cg)
		procs, err := e.containerProcs(cg)
		if err != nil || len(procs) == 0 {
			continue
		}
		if ten := tens[cg]; ten != nil {
			items, _ := e.ulimitItems(t, ten, procs)
			for _, it := range items {
				if n := e.countProcs(procs, it.r.res, func(cur unix.Rlimit) bool { _, c := ulimitFor(cur, it.orig, it.prev, it.want); return c }); n > 0 {
					out[cg] = append(out[cg], view.Change{File: "ulimit " + it.r.name, Old: fmtRlimit(it.orig),
						New: fmt.Sprintf("%s (prlimit on %d processes)", fmtRlimit(it.want), n), Why: it.why})
				}
			}
		}
		for name, k := range kept {
			res, ok := resourceNamed(name)
			if !ok || wanted[cg][name] {
				continue
			}
			want := unix.Rlimit{Cur: k.WantSoft, Max: k.WantHard}
			if n := e.countProcs(procs, res, func(cur unix.Rlimit) bool { return cur == want }); n > 0 {
				out[cg] = append(out[cg], view.Change{File: "ulimit " + name, Old: fmtRlimit(want),
					New: fmt.Sprintf("%s (original, back on %d processes)", fmtRlimit(unix.Rlimit{Cur: k.Soft, Max: k.Hard}), n),
					Why: "no longer wanted by the policy"})
			}
		}
	}
	return out
}

// countProcs counts the processes of procs whose limit of res satisfies f.
func (e *Enforcer) countProcs(procs []procRef, res int, f func(unix.Rlimit) bool) int {
	n := 0
	for _, p := range procs {
		if cur, err := e.prlimit.Get(p.pid, res); err == nil && f(cur) {
			n++
		}
	}
	return n
}

// restoreUlimits gives the processes of cg that hold quell's value of a
// kept resource not in keep the original back, and forgets the resources
// restored (all of them when cg is gone). It returns the number of
// processes that could not be restored.
func (e *Enforcer) restoreUlimits(cg string, keep map[string]bool, reason string) int {
	kept := e.store.Ulimits(cg)
	var todo []string
	for name := range kept {
		if !keep[name] {
			todo = append(todo, name)
		}
	}
	if len(todo) == 0 {
		return 0
	}
	procs, err := e.containerProcs(cg)
	if errors.Is(err, limits.ErrGone) || errors.Is(err, fs.ErrNotExist) {
		e.store.ForgetUlimit(cg, "")
		return 0
	}
	if err != nil {
		e.log.Warn("restore ulimits", "cgroup", cg, "err", err)
		return 1
	}
	failed := 0
	for _, name := range todo {
		k := kept[name]
		res, ok := resourceNamed(name)
		if !ok {
			e.store.ForgetUlimit(cg, name)
			continue
		}
		orig := unix.Rlimit{Cur: k.Soft, Max: k.Hard}
		want := unix.Rlimit{Cur: k.WantSoft, Max: k.WantHard}
		o := e.setProcs(cg, procs, res, func(cur unix.Rlimit) (unix.Rlimit, bool) { return orig, cur == want && cur != orig })
		if o.failed > 0 {
			failed += o.failed
			e.log.Warn("restore ulimit", "cgroup", cg, "resource", name, "failed", o.failed, "err", o.errs[0])
			continue
		}
		e.store.ForgetUlimit(cg, name)
		if t := e.known[cg]; t != nil {
			delete(t.ulimitEv, name)
		}
		e.events.add(view.Event{Time: e.clock.Now(), Kind: "restore", Cgroup: cg, Target: idOf(cg, e.known),
			Reason: fmt.Sprintf("ulimit %s: %s; original restored on %d processes", name, reason, o.set), Before: fmtRlimit(want), After: fmtRlimit(orig)})
	}
	return failed
}

// restoreAllUlimits is RestoreAll's ulimit part.
func (e *Enforcer) restoreAllUlimits() []error {
	var errs []error
	for _, cg := range e.store.UlimitCgroups() {
		if n := e.restoreUlimits(cg, nil, "quell told to restore everything"); n > 0 {
			errs = append(errs, fmt.Errorf("restore ulimits of %s: %d processes not restored", cg, n))
		}
	}
	return errs
}
