package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// topOpts are the flags of `quell top`.
type topOpts struct {
	containers bool
	sortBy     string
	interval   time.Duration
	once       bool
	live       bool // on a terminal, re-sorted by keys
}

var sortKeys = []string{"cpu", "mem", "io", "pids", "name"}

// row is one line of the top table: a tenant, a container or the
// unassigned group.
type row struct {
	label      string
	ctrs       string
	u          view.Usage
	cpuLimit   float64
	memLimit   int64
	swapLimit  int64
	pidsLimit  int64
	diskLimit  uint64
	lastAction string
}

func (r row) cells() []string {
	disk := fmtBytesPair(r.u.DiskBytes, int64(r.diskLimit))
	return []string{
		r.label, r.ctrs,
		fmtCPUs(r.u.CPUs, r.cpuLimit), fmtPct(r.u.ThrottledPct),
		fmtBytesPair(r.u.MemoryBytes, r.memLimit), fmtBytesPair(r.u.SwapBytes, r.swapLimit),
		fmtByteRate(r.u.IOReadBps), fmtByteRate(r.u.IOWriteBps),
		fmtCount(r.u.Pids, r.pidsLimit),
		fmtBitRate(r.u.NetRxBps), fmtBitRate(r.u.NetTxBps),
		disk,
		fmtPSI(r.u.CPUPressure, r.u.MemoryPressure, r.u.IOPressure),
		r.lastAction,
	}
}

var topHeader = []string{"TENANT", "CTRS", "CPU", "THR", "MEM", "SWAP", "IO-R", "IO-W", "PIDS", "NET-RX", "NET-TX", "DISK", "PSI c/m/i", "LAST ACTION"}

// less orders two usages by key, biggest first (name: by label, A→Z).
func less(key string, a, b row) bool {
	switch key {
	case "cpu":
		if a.u.CPUs != b.u.CPUs {
			return a.u.CPUs > b.u.CPUs
		}
	case "mem":
		if a.u.MemoryBytes != b.u.MemoryBytes {
			return a.u.MemoryBytes > b.u.MemoryBytes
		}
	case "io":
		ai, bi := a.u.IOReadBps+a.u.IOWriteBps, b.u.IOReadBps+b.u.IOWriteBps
		if ai != bi {
			return ai > bi
		}
	case "pids":
		if a.u.Pids != b.u.Pids {
			return a.u.Pids > b.u.Pids
		}
	}
	return strings.TrimSpace(a.label) < strings.TrimSpace(b.label)
}

func sortRows(key string, rows []row) {
	sort.SliceStable(rows, func(i, j int) bool { return less(key, rows[i], rows[j]) })
}

// containerRow turns a container into a row, indented under its tenant.
func containerRow(c view.ContainerView) row {
	l := c.Set
	label := c.Name
	if label == "" {
		label = shortID(c.ID)
	}
	r := row{label: "  " + label, u: c.Usage, cpuLimit: l.CPUs, memLimit: l.MemoryBytes, swapLimit: l.SwapBytes, pidsLimit: l.Pids}
	if p := c.Penalty; p != nil {
		r.lastAction = penaltyText(*p)
	} else if len(c.Errors) > 0 {
		r.lastAction = "error: " + c.Errors[0]
	}
	return r
}

func penaltyText(p view.PenaltyView) string {
	s := p.Action
	if p.Factor > 0 && p.Action == "throttle" {
		s += fmt.Sprintf(" x%g", p.Factor)
	}
	if p.Rule != "" {
		s += " by " + p.Rule
	}
	if !p.Deadline.IsZero() {
		s += " until " + p.Deadline.Local().Format(time.TimeOnly)
	}
	return s
}

// sumUsage adds up usages (rates and sizes add; pressures take the maximum).
func sumUsage(us []view.Usage) view.Usage {
	var s view.Usage
	for _, u := range us {
		s.CPUs += u.CPUs
		s.ThrottledPct = max(s.ThrottledPct, u.ThrottledPct)
		s.MemoryBytes += u.MemoryBytes
		s.SwapBytes += u.SwapBytes
		s.IOReadBps += u.IOReadBps
		s.IOWriteBps += u.IOWriteBps
		s.Pids += u.Pids
		s.NetRxBps += u.NetRxBps
		s.NetTxBps += u.NetTxBps
		s.DiskBytes += u.DiskBytes
		s.CPUPressure = max(s.CPUPressure, u.CPUPressure)
		s.MemoryPressure = max(s.MemoryPressure, u.MemoryPressure)
		s.IOPressure = max(s.IOPressure, u.IOPressure)
	}
	return s
}

// renderTop renders one frame of `quell top`. width > 0 cuts lines to fit a
// terminal.
func renderTop(v *view.View, o topOpts, direct bool, width int) string {
	var b strings.Builder
	h := v.Host
	fmt.Fprintf(&b, "quell top  %s  %d CPUs  mem %s free of %s  host pressure %s\n",
		v.Time.Local().Format(time.TimeOnly), h.CPUs, fmtBytes(h.MemAvailable), fmtBytes(h.MemTotal), hostPSI(h))
	pol := "policy ok: " + orDash(v.Policy.Summary)
	if !v.Policy.Valid {
		pol = "POLICY INVALID (last good policy in force: " + orDash(v.Policy.Summary) + ")"
	}
	line2 := fmt.Sprintf("%s  %d containers  %d penalties  sort %s", pol, len(v.Containers), len(v.Penalties), o.sortBy)
	if o.live { // first, so that a narrow terminal still shows it
		line2 = fmt.Sprintf("sort %s (keys c m i n p, q quits)  %s  %d containers  %d penalties", o.sortBy, pol, len(v.Containers), len(v.Penalties))
	}
	if v.DryRun {
		line2 += "  DRY RUN"
	}
	if direct {
		line2 += "  " + directNote
	}
	b.WriteString(line2 + "\n\n")

	byTenant := map[string][]view.ContainerView{}
	for _, c := range v.Containers {
		byTenant[c.Tenant] = append(byTenant[c.Tenant], c)
	}
	tenants := make([]row, 0, len(v.Tenants)+1)
	names := make(map[string]string, len(v.Tenants)) // row label → tenant name
	for _, t := range v.Tenants {
		l := t.Limits
		tenants = append(tenants, row{label: t.Name, ctrs: fmt.Sprint(t.Containers), u: t.Usage,
			cpuLimit: l.CPUs, memLimit: l.MemoryBytes, swapLimit: l.SwapBytes, pidsLimit: l.Pids,
			diskLimit: l.DiskBytes, lastAction: t.LastAction})
		names[t.Name] = t.Name
	}
	sortRows(o.sortBy, tenants)
	if un := byTenant[""]; len(un) > 0 {
		us := make([]view.Usage, len(un))
		for i, c := range un {
			us[i] = c.Usage
		}
		tenants = append(tenants, row{label: "(no tenant)", ctrs: fmt.Sprint(len(un)), u: sumUsage(us)})
		names["(no tenant)"] = ""
	}

	t := newTable(topHeader...).alignRight(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	t.maxWidth = width
	for _, tr := range tenants {
		t.add(tr.cells()...)
		if !o.containers {
			continue
		}
		var crs []row
		for _, c := range byTenant[names[tr.label]] {
			crs = append(crs, containerRow(c))
		}
		sortRows(o.sortBy, crs)
		for _, cr := range crs {
			t.add(cr.cells()...)
		}
	}
	if len(tenants) == 0 {
		b.WriteString("no tenants and no containers yet\n")
		return b.String()
	}
	_ = t.write(&b)
	return b.String()
}
