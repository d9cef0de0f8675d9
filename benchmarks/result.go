package benchmarks

import (
	"math"
	"time"
)

// Sections of the report, in order.
const (
	Fidelity   = "fidelity"
	Protection = "protection"
	Reaction   = "reaction"
	Overhead   = "overhead"
)

// Result is one measured figure. Set and Achieved share Unit; ErrorPct is
// 100*(Achieved-Set)/Set when the case has a set point. Extra holds the
// case's other figures (p50/p99, trials, counts) by name.
type Result struct {
	Section  string             `json:"section"`
	Case     string             `json:"case"`              // e.g. "cpu.max 0.5"
	Control  string             `json:"control,omitempty"` // e.g. "cpu.max"; groups charts
	Set      float64            `json:"set"`
	Achieved float64            `json:"achieved"`
	Unit     string             `json:"unit"`
	ErrorPct *float64           `json:"error_pct,omitempty"`
	Extra    map[string]float64 `json:"extra,omitempty"`
	Method   string             `json:"method"` // how it was measured
	On       string             `json:"on"`     // on what (kernel, guest, disk)
	Note     string             `json:"note,omitempty"`
	Err      string             `json:"error,omitempty"` // the case failed: why
	Seconds  float64            `json:"seconds"`         // wall time the case took
	Smoke    bool               `json:"smoke,omitempty"`
}

// WithError fills ErrorPct from Set and Achieved.
func (r Result) WithError() Result {
	if r.Set != 0 {
		e := 100 * (r.Achieved - r.Set) / r.Set
		r.ErrorPct = &e
	}
	return r
}

// Env is where a suite runs: the kernel paths as values and a label for
// the report's "on" column.
type Env struct {
	CgroupRoot string // /sys/fs/cgroup
	ProcRoot   string // /proc
	Ext4       string // scratch ext4 mount (io.max, quota); "" if none
	Ext4Dev    string // its block device
	XFS        string // scratch XFS mount with prjquota; "" if none
	XFSDev     string // its block device
	Slow       string // a disk slow enough to contend (the lab's qemu-throttled one); "" if none
	SlowDev    string // its block device
	Swap       bool   // swap is on
	Label      string // e.g. "lab guest: kernel 6.1, 2 vCPU TCG"
	Systemd    bool   // PID 1 is systemd (oomd cases)
	Now        func() time.Time
	Quelld     string // quelld binary (PATH lookup if bare)
	Self       string // this binary, re-executed for child modes
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func pct(p float64) *float64 { return &p }

func round(x float64, digits int) float64 {
	m := math.Pow(10, float64(digits))
	return math.Round(x*m) / m
}
