package state

import (
	"encoding/json"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/limits"
)

// Penalties are the penalties in force, kept until their deadlines. In
// memory they are detect.Penalty, quell's one penalty type; in the file each
// is the record quelld has always written (see record), so state files
// written by any version load and a newer file reads the same.
type Penalties []detect.Penalty

// record is how the state file spells one penalty. A throttle's values are
// cpu_quota (per limits.DefaultCPUPeriod, with cpu.weight 1: a throttle is
// always computed on that period), memory_high, pids_max and io_max; 0 or
// absent means not touched.
type record struct {
	ID       string    `json:"id"`     // container ID
	Cgroup   string    `json:"cgroup"` // relative to the cgroup root
	Tenant   string    `json:"tenant"` // never set; kept for the file's shape
	Action   string    `json:"action"` // throttle | freeze
	Rule     string    `json:"rule"`   // who decided: RuleName or Detector
	Step     int       `json:"step"`
	Factor   float64   `json:"factor,omitempty"`
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
	Reason   string    `json:"reason"`
	RuleName string    `json:"rule_name,omitempty"`
	Detector string    `json:"detector,omitempty"`
	Name     string    `json:"name,omitempty"` // container name

	CPUQuota   int64          `json:"cpu_quota,omitempty"`
	MemoryHigh int64          `json:"memory_high,omitempty"`
	PidsMax    int64          `json:"pids_max,omitempty"`
	IOMax      []limits.IOMax `json:"io_max,omitempty"`
}

// throttleWeight is the cpu.weight that goes with a throttle's cpu_quota.
const throttleWeight uint64 = 1

func toRecord(p detect.Penalty) record {
	r := record{ID: p.Target.ID, Cgroup: p.Target.Cgroup, Action: string(p.Kind), Rule: p.By(), Step: p.Step,
		Factor: p.Factor, Since: p.Since, Deadline: p.Deadline, Reason: p.Reason, RuleName: p.Rule,
		Detector: p.Detector, Name: p.Target.Name, IOMax: p.Throttle.IOMax}
	if q := p.Throttle.CPUQuota; q != nil && *q > 0 {
		r.CPUQuota = *q
	}
	if h := p.Throttle.MemoryHigh; h != nil && *h > 0 {
		r.MemoryHigh = *h
	}
	if n := p.Throttle.PidsMax; n != nil && *n > 0 {
		r.PidsMax = *n
	}
	return r
}

func (r record) penalty() detect.Penalty {
	p := detect.Penalty{Target: detect.Ref{ID: r.ID, Name: r.Name, Cgroup: r.Cgroup}, Kind: detect.Kind(r.Action),
		Factor: r.Factor, Rule: r.RuleName, Detector: r.Detector, Step: r.Step, Since: r.Since,
		Deadline: r.Deadline, Reason: r.Reason}
	t := &p.Throttle
	t.IOMax = r.IOMax
	if r.CPUQuota > 0 {
		q, w := r.CPUQuota, throttleWeight
		t.CPUQuota, t.CPUPeriod, t.CPUWeight = &q, limits.DefaultCPUPeriod, &w
	}
	if r.MemoryHigh > 0 {
		h := r.MemoryHigh
		t.MemoryHigh = &h
	}
	if r.PidsMax > 0 {
		n := r.PidsMax
		t.PidsMax = &n
	}
	return p
}

// MarshalJSON writes each penalty as a record (none: null, as ever).
func (ps Penalties) MarshalJSON() ([]byte, error) {
	if ps == nil {
		return []byte("null"), nil
	}
	rs := make([]record, len(ps))
	for i, p := range ps {
		rs[i] = toRecord(p)
	}
	return json.Marshal(rs)
}

// UnmarshalJSON reads records (null leaves ps alone, as for a slice).
func (ps *Penalties) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var rs []record
	if err := json.Unmarshal(b, &rs); err != nil {
		return err
	}
	out := make(Penalties, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.penalty())
	}
	*ps = out
	return nil
}
