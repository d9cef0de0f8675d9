package limits

import (
	"fmt"
	"io"
)

// CgroupEvents is cgroup.events (absent in the root cgroup).
type CgroupEvents struct {
	Populated bool // a process lives in the cgroup or a descendant
	Frozen    bool // the freezer has fully frozen the cgroup
}

// parseCgroupEvents parses cgroup.events; populated and frozen (kernel
// >= 5.2) are required and must be 0 or 1; other keys are ignored.
func parseCgroupEvents(r io.Reader) (CgroupEvents, error) {
	b, err := slurp(r)
	if err != nil {
		return CgroupEvents{}, err
	}
	var e CgroupEvents
	var seen uint8
	err = eachKV("cgroup.events", b, func(k, v []byte) error {
		var dst *bool
		var bit uint8
		switch string(k) {
		case "populated":
			dst, bit = &e.Populated, 1
		case "frozen":
			dst, bit = &e.Frozen, 2
		default:
			return nil
		}
		switch string(v) {
		case "0":
			*dst = false
		case "1":
			*dst = true
		default:
			return errSyntax("cgroup.events", string(k)+" "+string(v))
		}
		seen |= bit
		return nil
	})
	if err != nil {
		return CgroupEvents{}, err
	}
	if seen != 3 {
		return CgroupEvents{}, fmt.Errorf("cgroup.events: populated or frozen missing: %w", ErrSyntax)
	}
	return e, nil
}
