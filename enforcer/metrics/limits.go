package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// containerLimits are the limits read back from what quell set on a
// container's cgroup files; zero means unset or "max".
type containerLimits struct {
	cpus      float64
	mem, swap int64
	pids      int64
}

// parseContainerLimits reads the cgroup file values quell set. Unknown files,
// "max" and unparsable values leave the limit unset: a limit is never made up.
func parseContainerLimits(ls []view.Limit) containerLimits {
	var out containerLimits
	for _, l := range ls {
		v := strings.TrimSpace(l.Value)
		switch l.File {
		case "cpu.max":
			out.cpus = parseCPUMax(v)
		case "memory.max":
			out.mem = parseBytes(v)
		case "memory.swap.max":
			out.swap = parseBytes(v)
		case "pids.max":
			out.pids = parseBytes(v)
		}
	}
	return out
}

// parseCPUMax turns "250000 100000" into 2.5; "max ..." or garbage into 0.
func parseCPUMax(v string) float64 {
	f := strings.Fields(v)
	if len(f) == 0 || f[0] == "max" {
		return 0
	}
	quota, err := strconv.ParseFloat(f[0], 64)
	if err != nil || quota <= 0 {
		return 0
	}
	period := 100000.0
	if len(f) > 1 {
		p, err := strconv.ParseFloat(f[1], 64)
		if err != nil || p <= 0 {
			return 0
		}
		period = p
	}
	return quota / period
}

// parseBytes parses a plain non-negative integer; "max" or garbage is 0.
func parseBytes(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// shortID returns the first 12 characters of a 64-hex runtime ID, and any
// other ID (a cgroup's base name) whole, so that distinct IDs stay distinct.
func shortID(id string) string {
	if len(id) == 64 && strings.Trim(id, "0123456789abcdef") == "" {
		return id[:12]
	}
	return id
}

// splitPSISignal splits "host.cpu.some.avg10" into ("cpu", "some", "avg10").
func splitPSISignal(name string) (resource, kind, window string, ok bool) {
	p := strings.Split(name, ".")
	if len(p) != 4 || p[0] != "host" || p[1] == "" {
		return "", "", "", false
	}
	if p[2] != "some" && p[2] != "full" {
		return "", "", "", false
	}
	switch p[3] {
	case "avg10", "avg60", "avg300":
		return p[1], p[2], p[3], true
	}
	return "", "", "", false
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
