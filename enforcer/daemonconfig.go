package enforcer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/quell-dev/quell/policies"
)

// DaemonConfig is /etc/quell/quelld.toml. Every key is optional. The toml
// tags name the keys; each key has a row in daemonKeys (daemonconfig_keys.go)
// that checks and sets it, and a test holds the two in step.
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

type duration struct{ time.Duration }

// DefaultDaemonConfig are the values used for keys the file leaves out.
func DefaultDaemonConfig() DaemonConfig {
	return DaemonConfig{CgroupRoot: "/sys/fs/cgroup", ProcRoot: "/proc", StateDir: "/var/lib/quell",
		PolicyDirs: []string{"/etc/quell/policy.d"}, Interval: duration{time.Second}, Resync: duration{30 * time.Second},
		Socket: "/run/quell/quelld.sock", SocketGroup: "quell", MetricsAddr: "127.0.0.1:9477", MetricsMaxContainers: defaultMetricsMaxContainers,
		MaxEvictionsPerMinute: 2, UseSystemd: "auto", PressureWakeups: true, LockMemory: true}
}

// LoadDaemonConfig reads path over the defaults. A missing file gives the
// defaults and no error. A file that cannot be read gives a
// policies.Errors whose one entry has Err set; a file with problems gives
// a policies.Errors listing every problem with its file:line:column (see
// ParseDaemonConfig).
func LoadDaemonConfig(path string) (DaemonConfig, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultDaemonConfig(), nil
	}
	if err != nil {
		return DefaultDaemonConfig(), policies.Errors{{File: path, Msg: "cannot read: " + describeReadError(err), Err: err}}
	}
	return ParseDaemonConfig(path, b)
}

func describeReadError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ParseDaemonConfig checks data, the text of the daemon config file named
// file, and returns it over the defaults. It is the one validator of
// quelld.toml: quelld starts with it and `quell config check` prints what it
// finds. Unknown keys, values of the wrong type and values out of range are
// all reported, each as a *policies.Error with its line, column and key, in
// file order; the error is then a policies.Errors and the config returned
// is the defaults with the valid keys applied (do not run on it).
func ParseDaemonConfig(file string, data []byte) (DaemonConfig, error) {
	c := DefaultDaemonConfig()
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		return c, policies.Errors{policies.SyntaxError(file, err)}
	}
	pos := policies.ScanKeyPositions(file, data)
	var errs policies.Errors
	fail := func(p policies.Pos, key, format string, args ...any) {
		errs = append(errs, &policies.Error{File: file, Line: p.Line, Col: p.Col, Key: key, Msg: key + ": " + fmt.Sprintf(format, args...)})
	}
	for _, k := range keysInFileOrder(m, pos) {
		row, ok := daemonKeyByName(k)
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k)
			if s := policies.SuggestKey(k, daemonKeyNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += "; quelld.toml has " + strings.Join(daemonKeyNames(), ", ")
			}
			p := pos.At(k)
			errs = append(errs, &policies.Error{File: file, Line: p.Line, Col: p.Col, Key: k, Msg: msg})
			continue
		}
		if bad := row.set(&c, m[k]); bad != nil {
			p := pos.At(k)
			if bad.elem >= 0 {
				p = pos.AtIndex(k, bad.elem)
			}
			fail(p, bad.key(k), "%s", bad.msg)
		}
	}
	if len(errs) > 0 {
		return c, errs
	}
	return c, nil
}

// keysInFileOrder returns the keys of m in the order they were written.
func keysInFileOrder(m map[string]any, pos policies.KeyPositions) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := pos.At(keys[i]), pos.At(keys[j])
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return keys[i] < keys[j]
	})
	return keys
}

// Config turns the daemon config into the enforcer's.
func (d DaemonConfig) Config() Config {
	return Config{CgroupRoot: d.CgroupRoot, ProcRoot: d.ProcRoot, StateDir: d.StateDir, PolicyPaths: d.PolicyDirs,
		Interval: d.Interval.Duration, Resync: d.Resync.Duration, DryRun: d.DryRun,
		MaxEvictionsPerMinute: d.MaxEvictionsPerMinute, PreEvictHook: d.PreEvictHook, NoPressureWakeups: !d.PressureWakeups}
}

// DaemonConfigKeysSet lists the keys data sets, in file order, for a
// summary; it expects data that ParseDaemonConfig accepted.
func DaemonConfigKeysSet(data []byte) []string {
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		return nil
	}
	return keysInFileOrder(m, policies.ScanKeyPositions("", data))
}
