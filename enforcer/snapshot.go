package enforcer

// snapshot.go builds detect.Snapshot: usage, tenant guarantees and signals,
// process names and endpoints (the kernel and /proc reads detection needs).

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/policies"
)

func (e *Enforcer) snapshot(pol *policies.Policy, host view.HostView, now time.Time) detect.Snapshot {
	// The samples are from the start of the pass; the actions happen now,
	// which on a thrashing host can be seconds later.
	s := detect.Snapshot{Time: now, ActAt: e.clock.Now(), Host: host.Signals, Tenants: map[string]detect.Tenant{}}
	needProcs, needNet := false, false
	for _, d := range pol.Detectors {
		needProcs = needProcs || d.Kind == "process-name"
		needNet = needNet || d.Kind == "endpoint"
	}
	agg := map[string]*view.Usage{}
	for _, t := range e.known {
		if t.c.Tenant == "" {
			continue
		}
		if agg[t.c.Tenant] == nil {
			agg[t.c.Tenant] = &view.Usage{}
		}
		addUsage(agg[t.c.Tenant], t.usage)
	}
	tsig := tenantSignals(e.known)
	within := map[string]bool{}
	for i := range pol.Tenants {
		ten := &pol.Tenants[i]
		u := agg[ten.Name]
		if u == nil {
			u = &view.Usage{}
		}
		g := detect.Usage{}
		l := ten.Limits
		if l.CPUs != nil {
			g.CPU = *l.CPUs
		}
		if l.MemoryLow != nil {
			g.Memory = float64(*l.MemoryLow)
		} else if l.Memory != nil && ten.Class == policies.Guaranteed {
			g.Memory = float64(*l.Memory)
		}
		sig := tsig[ten.Name]
		if sig == nil {
			sig = map[string]float64{}
		}
		s.Tenants[ten.Name] = detect.Tenant{Class: ten.Class, Guarantee: g, Signals: sig}
		within[ten.Name] = (l.CPUs == nil || u.CPUs <= *l.CPUs*1.02) &&
			(l.Memory == nil || *l.Memory < 0 || u.MemoryBytes <= *l.Memory) &&
			(l.Pids == nil || *l.Pids < 0 || u.Pids <= *l.Pids)
	}
	e.det.io.update(e.known)
	s.Units = make([]detect.Unit, 0, len(e.known))
	for _, t := range e.known {
		c := t.c
		un := detect.Unit{ID: c.ID, Name: c.Name, Cgroup: c.Cgroup, Tenant: c.Tenant, Class: policies.Class(c.Class),
			Protected:    c.Cgroup == "" || c.Cgroup == "init.scope" || c.Cgroup == e.cfg.SelfCgroup,
			WithinLimits: c.Tenant != "" && within[c.Tenant],
			Usage: detect.Usage{CPU: t.usage.CPUs, Memory: float64(t.usage.MemoryBytes),
				IO: t.usage.IOReadBps + t.usage.IOWriteBps, Pids: float64(t.usage.Pids)}}
		if t.prevT.IsZero() {
			un.Usage = detect.Usage{CPU: -1, Memory: -1, IO: -1, Pids: -1}
		}
		if needProcs {
			un.Processes = e.processNames(c.Cgroup)
		}
		if needNet && c.PID > 0 {
			un.Endpoints = e.endpoints(c.PID)
		}
		un.Identity = identityOf(c)
		if e.det.eng.Quarantined(c.Cgroup, un.Identity) {
			un.Populated = e.populated(c.Cgroup)
		}
		s.Units = append(s.Units, un)
	}
	return s
}

// processNames reads the comm and exe base name of every process in cg
// (for process-name detectors); cgroup.procs is read through limits.FS.
func (e *Enforcer) processNames(cg string) []string {
	pids, err := e.fs.Procs(cg)
	if err != nil {
		return nil
	}
	var out []string
	for _, pid := range pids {
		f := strconv.Itoa(pid)
		if c, err := os.ReadFile(filepath.Join(e.cfg.ProcRoot, f, "comm")); err == nil {
			out = append(out, strings.TrimSpace(string(c)))
		}
		if exe, err := os.Readlink(filepath.Join(e.cfg.ProcRoot, f, "exe")); err == nil {
			out = append(out, filepath.Base(exe))
		}
	}
	return out
}

// tenantSignals gives each tenant's "tenant.<res>.<some|full>.<avg>"
// signals: the highest among its members (the worst-off member is the
// tenant's pressure). A signal no member could read is left out.
func tenantSignals(known map[string]*tracked) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, t := range known {
		if t.c.Tenant == "" {
			continue
		}
		m := out[t.c.Tenant]
		if m == nil {
			m = map[string]float64{}
			out[t.c.Tenant] = m
		}
		put := func(name string, v float64) {
			if old, ok := m[name]; !ok || v > old {
				m[name] = v
			}
		}
		for i, r := range psiResources {
			if t.psiOK[i] {
				psiSignals("tenant."+r, t.psi[i], &t.psiWin[i], put)
			}
		}
	}
	return out
}

// identityOf names a container across restarts for quarantines: its
// runtime and the name the runtime gave it, and for Kubernetes the pod's
// namespace; "" when there is no name (a name that is only the ID is none:
// a restarted Kubernetes container has a new ID; a Docker one keeps its
// cgroup, which is watched anyway).
func identityOf(c view.Container) string {
	if c.Name == "" || c.Name == c.ID || c.Runtime == "" || c.Runtime == "unknown" {
		return ""
	}
	id := c.Runtime + " " + c.Name
	if ns := c.Labels["io.kubernetes.pod.namespace"]; ns != "" {
		id += " in namespace " + ns
	}
	return id
}

// populated reads whether cg holds a process (cgroup.events "populated");
// nil when it cannot tell (a failed read is not "empty").
func (e *Enforcer) populated(cg string) *bool {
	v, err := e.fs.Read(cg, "cgroup.events")
	f := false
	switch {
	case isGone(err):
		return &f
	case err != nil:
		return nil
	}
	for _, line := range strings.Split(v, "\n") {
		switch strings.TrimSpace(line) {
		case "populated 1":
			t := true
			return &t
		case "populated 0":
			return &f
		}
	}
	return nil
}
