package systemd

import _ "embed" // for the unit files below

// UnitFile is quelld.service, installed to /usr/lib/systemd/system (or
// /etc/systemd/system) by `make install`.
//
//go:embed quelld.service
var UnitFile []byte

// SysusersConf is a sysusers.d(5) snippet creating the group `quell`, whose
// members may read quelld's API socket. Install it as
// /usr/lib/sysusers.d/quell.conf and run `systemd-sysusers`.
//
//go:embed quell.conf
var SysusersConf []byte

// DaemonConfigSample is the commented quelld.toml installed as
// /etc/quell/quelld.toml: every key with its default. quelld.8 shows it.
//
//go:embed quelld.toml
var DaemonConfigSample []byte

// UnitName is the name of quelld's own unit.
const UnitName = "quelld.service"
