package systemd

import "github.com/quell-dev/quell/internal/cpuset"

// CPUSetMask turns a cpuset list ("0-3,8", the cpuset.cpus format) into the
// `ay` bitmask systemd's AllowedCPUs and AllowedMemoryNodes take: bit i%8 of
// byte i/8 is set for CPU (or node) i. "" gives an empty mask, which resets
// the unit to its parent's set. A malformed list, or an id above
// cpuset.MaxID, is an error.
func CPUSetMask(list string) ([]byte, error) {
	s, err := cpuset.Parse(list)
	if err != nil {
		return nil, err
	}
	return s.Mask(), nil
}
