package cli

import (
	"fmt"
	"io"
	"sort"

	"github.com/quell-dev/quell/enforcer/view"
)

func tenantsCmd() *command {
	return &command{
		name:     "tenants",
		summary:  "Tenants with their class, mode, containers and limits",
		detail:   "MODE says where the aggregate limits live: slice (quell.slice/quell-<name>.slice),\nsplit (divided among the containers) or caps (per-container caps only).",
		examples: []string{"quell tenants", "quell tenants --json"},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			v, direct, err := e.view()
			if err != nil {
				return 0, err
			}
			if e.g.json {
				ts := v.Tenants
				if ts == nil {
					ts = []view.TenantView{}
				}
				return ExitOK, e.printJSON(ts)
			}
			return ExitOK, writeTenants(e.stdout, v, direct)
		},
	}
}

// view fetches the current view for a read-only command.
func (e *env) view() (*view.View, bool, error) {
	svc, direct, err := e.reader()
	if err != nil {
		return nil, false, err
	}
	v, err := svc.View(e.ctx)
	return v, direct, err
}

func limitOrDash(s string, set bool) string {
	if !set {
		return "-"
	}
	return s
}

func writeTenants(w io.Writer, v *view.View, direct bool) error {
	if direct {
		fmt.Fprintln(w, directNote)
	}
	if len(v.Tenants) == 0 {
		_, err := fmt.Fprintln(w, "no tenants: the policy defines none, or none has a container yet")
		return err
	}
	ts := append([]view.TenantView(nil), v.Tenants...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	t := newTable("TENANT", "CLASS", "MODE", "CTRS", "CPUS", "MEMORY", "SWAP", "PIDS", "NET-OUT", "NET-IN", "DISK", "LAST ACTION").alignRight(3, 4, 5, 6, 7, 8, 9, 10)
	for _, tv := range ts {
		l := tv.Limits
		t.add(tv.Name, tv.Class, tv.Mode, fmt.Sprint(tv.Containers),
			limitOrDash(fmtNum(l.CPUs), l.CPUs > 0),
			limitOrDash(fmtBytes(l.MemoryBytes), l.MemoryBytes > 0),
			limitOrDash(fmtBytes(l.SwapBytes), l.SwapBytes > 0),
			limitOrDash(fmt.Sprint(l.Pids), l.Pids > 0),
			limitOrDash(fmtBitRate(float64(l.NetEgress)), l.NetEgress > 0),
			limitOrDash(fmtBitRate(float64(l.NetIngress)), l.NetIngress > 0),
			limitOrDash(fmtBytes(int64(l.DiskBytes)), l.DiskBytes > 0),
			orDash(tv.LastAction))
	}
	return t.write(w)
}
