package enforcer

// ceiling.go keeps the limits each container's runtime set (Docker's -m
// and --cpus, a kubelet's pod limits): planning lays them over the policy
// as ceilings (desire.Ceiling), and reconcile notices when the runtime
// changes one later (docker update, a Kubernetes in-place resize, runc
// update) and adopts the new value as the original, instead of "repairing"
// it back.

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/systemd"
)

// ceilingFiles are the files whose runtime value bounds quell's plan.
var ceilingFiles = []string{"cpu.max", "memory.high", "memory.max", "memory.swap.max", "pids.max", "io.max"}

func isCeiling(file string) bool {
	for _, f := range ceilingFiles {
		if f == file {
			return true
		}
	}
	return false
}

// runtimeOf is the limits t's runtime set: for each ceiling file, the
// original quell keeps when it changed the file, the kernel's value when it
// did not. They are read once (a file the kernel does not offer is left
// out) and then kept current by adoptRuntime; a failed read is an error,
// retried next pass, never a made-up "no limit".
func (e *Enforcer) runtimeOf(t *tracked) (limits.Resources, error) {
	if t.runtime == nil {
		m, err := e.readRuntime(t.c.Cgroup)
		if err != nil {
			return limits.Resources{}, err
		}
		t.runtime = m
		t.runtimeGen++
	}
	keys := make([]string, 0, len(t.runtime))
	for k := range t.runtime {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ws := make([]limits.Write, 0, len(keys))
	for _, k := range keys {
		ws = append(ws, limits.Write{File: fileOfKey(k), Value: t.runtime[k]})
	}
	r, err := limits.ParseWrites(ws)
	if err != nil {
		return limits.Resources{}, fmt.Errorf("%s: %w", t.c.Cgroup, err)
	}
	return r, nil
}

// readRuntime reads cg's ceiling files, keyed as originals are (origKey),
// taking the kept original for each file quell changed.
func (e *Enforcer) readRuntime(cg string) (map[string]string, error) {
	orig := e.store.Originals(cg)
	m := map[string]string{}
	for _, f := range ceilingFiles {
		if f != "io.max" {
			if v, ok := orig[f]; ok {
				m[f] = v
				continue
			}
		}
		v, err := e.fs.Read(cg, f)
		if errors.Is(err, limits.ErrMissing) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read the runtime's %s: %w", f, err)
		}
		if f != "io.max" {
			m[f] = strings.TrimSpace(v)
			continue
		}
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				m[origKey(f, line)] = line
			}
		}
	}
	for k, v := range orig {
		if fileOfKey(k) == "io.max" {
			m[k] = v
		}
	}
	return m, nil
}

// adoptRuntime looks at what reconcile just read of p's container (cur)
// for values its runtime changed since: a ceiling file whose value is
// neither its kept original nor one quell wrote (nor, for a file quell
// never changed, the value last seen) was set by the runtime. That value
// becomes the file's original (restored when quell stands down) and its
// ceiling from the next plan on; this pass leaves the file as the runtime
// set it (the plan was made with the old ceiling), so quell never
// "repairs" a runtime's change back. It returns the keys to leave alone.
func (e *Enforcer) adoptRuntime(p *plan, cur []limits.Write) map[string]bool {
	t := p.t
	if t == nil || t.runtime == nil {
		return nil
	}
	var skip map[string]bool
	orig := e.store.Originals(p.cgroup)
	for _, w := range cur {
		if !isCeiling(w.File) {
			continue
		}
		key := origKey(w.File, w.Value)
		was, hasOrig := orig[key]
		if hasOrig {
			if e.sameValue(w.File, w.Value, was) || e.quellWrote(p.cgroup, key, w.File, w.Value) {
				continue
			}
			e.store.AdoptOriginal(p.cgroup, key, w.Value)
		} else {
			seen, ok := t.runtime[key]
			if !ok || e.sameValue(w.File, w.Value, seen) {
				t.setRuntime(key, w.Value)
				continue
			}
			was = seen
		}
		t.setRuntime(key, w.Value)
		if skip == nil {
			skip = map[string]bool{}
		}
		skip[key] = true
		e.log.Info("the container runtime changed a limit; adopted as its new original", "cgroup", p.cgroup, "file", w.File, "before", was, "after", w.Value)
		e.events.add(view.Event{Time: e.clock.Now(), Kind: "limit", Tenant: p.tenant, Cgroup: p.cgroup, Target: idOf(p.cgroup, e.known),
			Reason: w.File + ": changed by the container runtime; adopted as the new original, a ceiling the policy only tightens",
			Before: was, After: w.Value})
	}
	return skip
}

// quellWrote reports whether value in cg's file is one quell wrote there
// (state.Store.Written), or what systemd makes of it: a cpu.max set
// through systemd is rounded up to 10 ms per second, and a daemon-reload
// writes that rounded value back.
func (e *Enforcer) quellWrote(cg, key, file, value string) bool {
	for _, v := range e.store.Written(cg, key) {
		if e.sameValue(file, value, v) {
			return true
		}
		if file == "cpu.max" && e.units != nil {
			q, p, ok := cpuMaxOf(v)
			if ok && q >= 0 && e.sameValue(file, value, strconv.FormatInt(systemd.EffectiveCPUQuota(q, p), 10)+" "+strconv.FormatUint(p, 10)) {
				return true
			}
		}
	}
	return false
}

// sameValue reports whether a and b mean the same in file (limits' Diff:
// page rounding, spellings the kernel normalises).
func (e *Enforcer) sameValue(file, a, b string) bool {
	return len(e.fs.Diff([]limits.Write{{File: file, Value: a}}, []limits.Write{{File: file, Value: b}})) == 0
}

// cpuMaxOf parses a cpu.max value.
func cpuMaxOf(v string) (quota int64, period uint64, ok bool) {
	r, err := limits.ParseWrites([]limits.Write{{File: "cpu.max", Value: v}})
	if err != nil || r.CPUQuota == nil {
		return 0, 0, false
	}
	return *r.CPUQuota, r.CPUPeriod, true
}

// setRuntime sets one of t's runtime limits, counting real changes
// (runtimeCached parses them again only then).
func (t *tracked) setRuntime(key, v string) {
	if old, ok := t.runtime[key]; !ok || old != v {
		t.runtime[key] = v
		t.runtimeGen++
	}
}
