package enforcer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// DaemonConfig is /etc/quell/quelld.toml. Every key is optional.
type DaemonConfig struct {
	CgroupRoot            string   `toml:"cgroup_root"`
	ProcRoot              string   `toml:"proc_root"`
	StateDir              string   `toml:"state_dir"`
	PolicyDirs            []string `toml:"policy_dirs"`
	Interval              duration `toml:"interval"`
	Resync                duration `toml:"resync"`
	DryRun                bool     `toml:"dry_run"`
	Socket                string   `toml:"socket"`
	SocketGroup           string   `toml:"socket_group"`
	MetricsAddr           string   `toml:"metrics_addr"` // "" = default, "off" = no metrics
	MaxEvictionsPerMinute int      `toml:"max_evictions_per_minute"`
	PreEvictHook          []string `toml:"pre_evict_hook"`
	UseSystemd            string   `toml:"use_systemd"` // auto (default) | yes | no
	PressureWakeups       bool     `toml:"pressure_wakeups"`
	LockMemory            bool     `toml:"lock_memory"` // mlockall: quelld's pages are never swapped out

	// MetricsWebConfig is an exporter-toolkit web config file (TLS, basic
	// auth) for the metrics endpoint; "" = plain HTTP.
	MetricsWebConfig string `toml:"metrics_web_config"`
	// MetricsMaxContainers caps the containers with per-container series.
	MetricsMaxContainers int `toml:"metrics_max_containers"`
}

var tomlLineErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("must be positive, got %s", v)
	}
	d.Duration = v
	return nil
}

// DefaultDaemonConfig are the values used for keys the file leaves out.
func DefaultDaemonConfig() DaemonConfig {
	return DaemonConfig{CgroupRoot: "/sys/fs/cgroup", ProcRoot: "/proc", StateDir: "/var/lib/quell",
		PolicyDirs: []string{"/etc/quell/policy.d"}, Interval: duration{time.Second}, Resync: duration{30 * time.Second},
		Socket: "/run/quell/quelld.sock", SocketGroup: "quell", MetricsAddr: "127.0.0.1:9477", MetricsMaxContainers: defaultMetricsMaxContainers,
		MaxEvictionsPerMinute: 2, UseSystemd: "auto", PressureWakeups: true, LockMemory: true}
}

// LoadDaemonConfig reads path over the defaults. A missing file gives the
// defaults; unknown keys and bad values are errors naming path:line.
func LoadDaemonConfig(path string) (DaemonConfig, error) {
	c := DefaultDaemonConfig()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read daemon config: %w", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("%s:%d:%d: %s", path, pe.Position.Line, pe.Position.Col, pe.Message)
		}
		// Type mismatches come as plain errors: "toml: line N (last key
		// "k"): …". Give them the same path:line form.
		if m := tomlLineErr.FindStringSubmatch(err.Error()); m != nil {
			return c, fmt.Errorf("%s:%s: %s: %s", path, m[1], m[2], m[3])
		}
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		var keys []string
		for _, k := range und {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		return c, fmt.Errorf("%s: unknown keys: %s (known: cgroup_root, proc_root, state_dir, policy_dirs, interval, resync, dry_run, socket, socket_group, metrics_addr, max_evictions_per_minute, pre_evict_hook, use_systemd, pressure_wakeups)", path, strings.Join(keys, ", "))
	}
	switch c.UseSystemd {
	case "auto", "yes", "no":
	default:
		return c, fmt.Errorf("%s: use_systemd = %q: want auto, yes or no", path, c.UseSystemd)
	}
	return c, nil
}

// Config turns the daemon config into the enforcer's.
func (d DaemonConfig) Config() Config {
	return Config{CgroupRoot: d.CgroupRoot, ProcRoot: d.ProcRoot, StateDir: d.StateDir, PolicyPaths: d.PolicyDirs,
		Interval: d.Interval.Duration, Resync: d.Resync.Duration, DryRun: d.DryRun,
		MaxEvictionsPerMinute: d.MaxEvictionsPerMinute, PreEvictHook: d.PreEvictHook, NoPressureWakeups: !d.PressureWakeups}
}
