package cli

import (
	"fmt"
	"io"
	"sort"

	"github.com/quell-dev/quell/enforcer/view"
)

func containersCmd() *command {
	var tenant string
	var all bool
	return &command{
		name:     "containers",
		summary:  "Containers quell watches, their tenant and current usage",
		examples: []string{"quell containers", "quell containers --tenant acme", "quell containers --json"},
		setFlags: func(f *flags) {
			f.stringVar(&tenant, "t", "tenant", "NAME", "only the containers of tenant NAME")
			f.boolVar(&all, "a", "all", "show full IDs and cgroup paths")
		},
		run: func(e *env, args []string) (int, error) {
			if len(args) > 0 {
				return 0, usagef("takes no arguments, got %q", args)
			}
			v, direct, err := e.view()
			if err != nil {
				return 0, err
			}
			cs := []view.ContainerView{}
			for _, c := range v.Containers {
				if tenant == "" || c.Tenant == tenant {
					cs = append(cs, c)
				}
			}
			if e.g.json {
				return ExitOK, e.printJSON(cs)
			}
			return ExitOK, writeContainers(e.stdout, cs, direct, all)
		},
	}
}

func writeContainers(w io.Writer, cs []view.ContainerView, direct, full bool) error {
	if direct {
		fmt.Fprintln(w, directNote)
	}
	if len(cs) == 0 {
		_, err := fmt.Fprintln(w, "no containers")
		return err
	}
	cs = append([]view.ContainerView(nil), cs...)
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Tenant != cs[j].Tenant {
			return cs[i].Tenant < cs[j].Tenant
		}
		if cs[i].Name != cs[j].Name {
			return cs[i].Name < cs[j].Name
		}
		return cs[i].ID < cs[j].ID
	})
	t := newTable("CONTAINER", "NAME", "TENANT", "CLASS", "RUNTIME", "CPU", "MEM", "PIDS", "PENALTY", "CGROUP").alignRight(5, 6, 7)
	for _, c := range cs {
		l := c.Set
		id, cg := shortID(c.ID), c.Cgroup
		if full {
			id = c.ID
		} else if len(cg) > 60 {
			cg = "…" + cg[len(cg)-59:]
		}
		pen := "-"
		if c.Penalty != nil {
			pen = penaltyText(*c.Penalty)
		}
		t.add(id, orDash(c.Name), orDash(c.Tenant), orDash(c.Class), c.Runtime,
			fmtCPUs(c.Usage.CPUs, l.CPUs), fmtBytesPair(c.Usage.MemoryBytes, l.MemoryBytes), fmtCount(c.Usage.Pids, l.Pids),
			pen, cg)
	}
	return t.write(w)
}
