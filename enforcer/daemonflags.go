package enforcer

import (
	"flag"
	"strings"
)

// DefaultDaemonConfigPath is where quelld reads its config without --config.
const DefaultDaemonConfigPath = "/etc/quell/quelld.toml"

// DaemonFlags are quelld's command-line flags. They live here, not in
// cmd/quelld, so that quelld.8 (cmd/quell-docs) is generated from the very
// FlagSet quelld parses.
type DaemonFlags struct {
	Config     string
	Policy     string
	DryRun     bool
	StateDir   string
	Socket     string
	Metrics    string
	LogJSON    bool
	Version    bool
	CgroupRoot string
	CheckHost  bool
	RestoreAll bool
}

// NewDaemonFlags returns quelld's FlagSet (ContinueOnError) and the values
// it parses into.
func NewDaemonFlags() (*flag.FlagSet, *DaemonFlags) {
	d := &DaemonFlags{}
	fs := flag.NewFlagSet("quelld", flag.ContinueOnError)
	fs.StringVar(&d.Config, "config", DefaultDaemonConfigPath, "daemon config `file`")
	fs.StringVar(&d.Policy, "policy", "", "policy `dir or file` (overrides policy_dirs; comma-separated)")
	fs.BoolVar(&d.DryRun, "dry-run", false, "decide and record, write nothing")
	fs.StringVar(&d.StateDir, "state-dir", "", "state `dir` (overrides state_dir)")
	fs.StringVar(&d.Socket, "socket", "", "API socket `path` (overrides socket)")
	fs.StringVar(&d.Metrics, "metrics", "", "metrics `addr` (overrides metrics_addr; \"off\" disables)")
	fs.BoolVar(&d.LogJSON, "log-json", false, "log JSON instead of logfmt")
	fs.BoolVar(&d.Version, "version", false, "print the version and commit, and exit")
	fs.StringVar(&d.CgroupRoot, "cgroup-root", "", "cgroup2 mount `dir` (overrides cgroup_root)")
	fs.BoolVar(&d.CheckHost, "check-host", false, "check that the cgroup root is a cgroup v2 hierarchy with the controllers quell needs, print what to fix, and exit (make install runs it)")
	fs.BoolVar(&d.RestoreAll, "restore-all", false, "with quelld stopped: put back every original value kept in the state dir, thaw what quell froze, drop penalties, and exit (for an uninstall)")
	return fs, d
}

// Apply lays the flags that were given over dc (a flag left empty keeps
// the file's value; --dry-run only turns dry run on).
func (d *DaemonFlags) Apply(dc *DaemonConfig) {
	if d.Policy != "" {
		dc.PolicyDirs = strings.Split(d.Policy, ",")
	}
	if d.StateDir != "" {
		dc.StateDir = d.StateDir
	}
	if d.Socket != "" {
		dc.Socket = d.Socket
	}
	if d.Metrics != "" {
		dc.MetricsAddr = d.Metrics
	}
	if d.CgroupRoot != "" {
		dc.CgroupRoot = d.CgroupRoot
	}
	dc.DryRun = dc.DryRun || d.DryRun
}
