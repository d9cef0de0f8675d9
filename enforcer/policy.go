package enforcer

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// policyOptions are the host facts policy validation checks against.
func policyOptions() policies.Options {
	return policies.Options{
		HostCPUs: runtime.NumCPU(),
		DeviceExists: func(p string) error {
			_, _, err := limits.DeviceNumber(p)
			return err
		},
	}
}

// Reload reads the policy paths again. A valid policy replaces the one in
// force; an invalid one is rejected with all its errors, kept in the status,
// and the last good policy stays in force.
func (e *Enforcer) Reload(ctx context.Context) error {
	now := e.clock.Now()
	p, err := policies.Load(e.cfg.PolicyPaths, policyOptions())
	e.policyMu.Lock()
	defer e.policyMu.Unlock()
	e.pstatus.Tried = now
	if err != nil {
		e.pstatus.Valid = false
		e.pstatus.Errors = splitErrors(err)
		kept := "none: enforcing nothing"
		if e.policy != nil {
			kept = "the last good policy (" + e.pstatus.Summary + ") stays in force"
		}
		e.events.add(view.Event{Time: now, Kind: "policy", Reason: "policy rejected; " + kept + ": " + strings.Join(e.pstatus.Errors, "; ")})
		return err
	}
	e.policy = p
	e.pstatus = view.PolicyStatus{Valid: true, Summary: p.Summary(), Files: p.Files, LoadedAt: now, Tried: now}
	for _, w := range p.Warnings() {
		e.pstatus.Warnings = append(e.pstatus.Warnings, w.Error())
		e.log.Warn("policy warning", "warning", w.Error())
	}
	for _, w := range memoryLowWarnings(p, filepath.Join(e.cfg.ProcRoot, "self", "mountinfo"), e.cfg.CgroupRoot) {
		e.pstatus.Warnings = append(e.pstatus.Warnings, w)
		e.log.Warn("policy warning", "warning", w)
	}
	e.events.add(view.Event{Time: now, Kind: "policy", Reason: "policy loaded: " + p.Summary()})
	e.rescan.Store(true)
	return nil
}

func splitErrors(err error) []string {
	var es policies.Errors
	if errors.As(err, &es) {
		out := make([]string, 0, len(es))
		for _, e := range es {
			out = append(out, e.Error())
		}
		return out
	}
	return strings.Split(strings.TrimSpace(err.Error()), "\n")
}

func (e *Enforcer) currentPolicy() *policies.Policy {
	e.policyMu.Lock()
	defer e.policyMu.Unlock()
	return e.policy
}

func (e *Enforcer) policyStatus() view.PolicyStatus {
	e.policyMu.Lock()
	defer e.policyMu.Unlock()
	s := e.pstatus
	s.Files = append([]string(nil), s.Files...)
	s.Errors = append([]string(nil), s.Errors...)
	s.Warnings = append([]string(nil), s.Warnings...)
	return s
}
