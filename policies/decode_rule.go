package policies

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

var (
	ruleKeys   = []string{"name", "when", "release", "target", "ladder", "cooldown", "quarantine", "dry_run"}
	whenKeys   = []string{"signal", "above", "below", "for"}
	targetKeys = []string{"classes", "tenants", "rank"}
	stepKeys   = []string{"action", "factor", "for"}
	signalKeys = func() []string {
		var l []string
		for k := range signals {
			l = append(l, k)
		}
		slices.Sort(l)
		return l
	}()
)

// tenantRef is a tenant name used by a rule, checked once every file is read.
type tenantRef struct {
	name string
	at   *Error // position, owner and key; Msg is filled when the name is unknown
}

// rule decodes the n-th [[rule]] of the file.
func (d *decoder) rule(t *tbl, n int) (Rule, []tenantRef) {
	before := len(d.errs)
	r := Rule{Pos: t.pos()}
	r.Name, _ = t.name("rule", n)
	var sig SignalInfo
	if w, ok := t.sub("when"); ok {
		r.When, sig = d.when(w)
	} else if !t.has("when") {
		d.errAt(t.path, "when", "when is missing (e.g. when = { signal = \"host.cpu.some.avg10\", above = 40.0, for = \"5s\" })")
	}
	if v, ok := t.num("release"); ok {
		switch {
		case r.When.Above != nil && v > *r.When.Above:
			t.failMsg("release", "release (%v) is above when.above (%v): the rule would release before it fires", v, *r.When.Above)
		case r.When.Below != nil && v < *r.When.Below:
			t.failMsg("release", "release (%v) is below when.below (%v): the rule would release before it fires", v, *r.When.Below)
		case sig.Name != "" && (v < sig.Min || v > sig.Max):
			t.fail("release", "%v is outside %v..%v, the range of %s", v, sig.Min, sig.Max, sig.Name)
		default:
			r.Release = &v
		}
	}
	var refs []tenantRef
	if tt, ok := t.sub("target"); ok {
		r.Target, refs = d.target(tt)
	}
	if r.Target.Rank == "" {
		r.Target.Rank = sig.Resource
	}
	if steps, ok := t.subs("ladder"); ok {
		if len(steps) == 0 && len(d.errs) == before {
			t.fail("ladder", "empty: give at least one step, e.g. [{ action = \"throttle\", factor = 0.5, for = \"60s\" }]")
		}
		evictAt := -1
		for i, st := range steps {
			if evictAt >= 0 {
				t.elemFail("ladder", i, "a step after evict (ladder[%d]) can never run", evictAt)
			}
			action, factor, dur := st.penalty()
			if action == ActionEvict && evictAt < 0 {
				evictAt = i
			}
			st.finish(stepKeys)
			r.Ladder = append(r.Ladder, Step{Action: action, Factor: factor, For: dur})
		}
	} else if !t.has("ladder") {
		d.errAt(t.path, "ladder", "ladder is missing (e.g. ladder = [{ action = \"throttle\", factor = 0.5, for = \"60s\" }])")
	}
	r.Cooldown, _ = t.duration("cooldown")
	if q, ok := t.duration("quarantine"); ok {
		r.Quarantine = &q
	}
	r.DryRun, _ = t.boolean("dry_run")
	t.finish(ruleKeys)
	return r, refs
}

func (d *decoder) when(t *tbl) (When, SignalInfo) {
	var w When
	var sig SignalInfo
	if s, ok := t.str("signal"); ok {
		if si, known := signals[s]; known {
			w.Signal, sig = s, si
		} else if hint := suggest(s, signalKeys); hint != "" {
			t.fail("signal", "unknown signal %q (did you mean %q?)", s, hint)
		} else {
			t.fail("signal", "unknown signal %q (signals are %s)", s, signalSummary)
		}
	} else if !t.has("signal") {
		d.errAt(t.path, t.prefix+"signal", t.prefix+"signal is missing")
	}
	for _, k := range []string{"above", "below"} {
		v, ok := t.num(k)
		if !ok {
			continue
		}
		if sig.Name != "" && (v < sig.Min || v > sig.Max) {
			t.fail(k, "%v is outside %v..%v, the range of %s", v, sig.Min, sig.Max, sig.Name)
			continue
		}
		if k == "above" {
			w.Above = &v
		} else {
			w.Below = &v
		}
	}
	switch {
	case t.has("above") && t.has("below"):
		t.failMsg("below", "when has both above and below: a rule watches one side (write two rules)")
	case !t.has("above") && !t.has("below"):
		d.errAt(t.path, "when", "when needs above or below")
	}
	w.For, _ = t.duration("for")
	t.finish(whenKeys)
	return w, sig
}

func (d *decoder) target(t *tbl) (Target, []tenantRef) {
	var tg Target
	tg.Classes = t.classes("classes")
	var refs []tenantRef
	if names, ok := t.strs("tenants"); ok {
		for i, s := range names {
			if !nameOK(s) {
				t.elemFail("tenants", i, "%q is not a valid tenant name", s)
				continue
			}
			p := d.pos.at(join(t.path, "tenants", strconv.Itoa(i)))
			refs = append(refs, tenantRef{name: s, at: &Error{File: d.file, Line: p.Line, Col: p.Col,
				Key: t.prefix + "tenants", Owner: d.owner,
				Msg: fmt.Sprintf("%stenants[%d]: no tenant is named %q", t.prefix, i, s)}})
			tg.Tenants = append(tg.Tenants, s)
		}
	}
	if s, ok := t.str("rank"); ok {
		switch s {
		case RankCPU, RankMemory, RankIO, RankPids:
			tg.Rank = s
		default:
			t.fail("rank", "unknown rank %q (use cpu, memory, io or pids)", s)
		}
	}
	t.finish(targetKeys)
	return tg, refs
}

// penalty reads action, factor and for, as a ladder step or a detector has
// them: throttle needs 0 < factor < 1 and for; freeze needs for; evict takes
// neither.
func (t *tbl) penalty() (string, float64, time.Duration) {
	action, ok := t.action("action")
	if !ok && !t.has("action") {
		t.d.errAt(t.path, t.prefix+"action", t.prefix+"action is missing (throttle, freeze or evict)")
	}
	factor, hasFactor := t.num("factor")
	dur, hasFor := t.duration("for")
	if hasFactor && (factor <= 0 || factor >= 1) {
		t.fail("factor", "%v is outside (0, 1)", factor)
	}
	switch action {
	case ActionThrottle:
		if !t.has("factor") {
			t.d.errAt(t.path, t.prefix+"factor", t.prefix+"factor is missing: throttle needs one, e.g. factor = 0.5")
		}
		fallthrough
	case ActionFreeze:
		if !t.has("for") {
			t.d.errAt(t.path, t.prefix+"for", t.prefix+"for is missing: "+action+" needs a duration (every penalty has a deadline)")
		} else if hasFor && dur == 0 {
			t.fail("for", "must be above 0: every penalty has a deadline")
		}
	case ActionEvict:
		if t.has("for") {
			t.fail("for", "evict takes no duration")
		}
	}
	if action != ActionThrottle && action != "" && t.has("factor") {
		t.fail("factor", "only throttle takes a factor")
	}
	return action, factor, dur
}
