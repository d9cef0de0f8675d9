package cli

import (
	"strconv"
	"strings"

	"github.com/quell-dev/quell/enforcer/view"
)

// ctrLimits are the limits quell set on a container, read back from the
// cgroup file values in ContainerView.Limits; zero means none or "max".
type ctrLimits struct {
	cpus            float64
	mem, swap, pids int64
}

func containerLimits(ls []view.Limit) ctrLimits {
	var out ctrLimits
	for _, l := range ls {
		v := strings.TrimSpace(l.Value)
		switch l.File {
		case "cpu.max":
			f := strings.Fields(v)
			if len(f) >= 1 && f[0] != "max" {
				q, err1 := strconv.ParseFloat(f[0], 64)
				p := 100000.0
				var err2 error
				if len(f) > 1 {
					p, err2 = strconv.ParseFloat(f[1], 64)
				}
				if err1 == nil && err2 == nil && q > 0 && p > 0 {
					out.cpus = q / p
				}
			}
		case "memory.max":
			out.mem = parseInt(v)
		case "memory.swap.max":
			out.swap = parseInt(v)
		case "pids.max":
			out.pids = parseInt(v)
		}
	}
	return out
}

func parseInt(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
