package limits

import (
	"fmt"
	"io"
)

// PidsEvents is pids.events.
type PidsEvents struct {
	Max uint64 // forks refused because pids.max (here or in an ancestor) was reached
}

// parsePidsEvents parses pids.events; "max" is required, other keys
// (max.imposed on newer kernels) are ignored.
func parsePidsEvents(r io.Reader) (PidsEvents, error) {
	b, err := slurp(r)
	if err != nil {
		return PidsEvents{}, err
	}
	var e PidsEvents
	seen := false
	err = eachKV("pids.events", b, func(k, v []byte) error {
		if string(k) != "max" {
			return nil
		}
		n, ok := atou(v)
		if !ok {
			return errSyntax("pids.events", string(k)+" "+string(v))
		}
		e.Max, seen = n, true
		return nil
	})
	if err != nil {
		return PidsEvents{}, err
	}
	if !seen {
		return PidsEvents{}, fmt.Errorf("pids.events: max missing: %w", ErrSyntax)
	}
	return e, nil
}
