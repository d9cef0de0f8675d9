package enforcer

import (
	"github.com/quell-dev/quell/systemd"
)

var _ unitSetter = (*systemd.Units)(nil)

// SystemdUnits returns the option routing writes on systemd-owned units
// through m (see systemd.Units), naming io.max devices from /sys and /dev.
func SystemdUnits(m systemd.Manager) Option {
	return WithUnits(systemd.NewUnits(m, systemd.DevicePaths("/sys", "/dev")))
}
