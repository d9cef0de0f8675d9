package enforcer

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/quell-dev/quell/policies"
)

// daemonKeys is every key of quelld.toml, in the order `quell config check`
// lists them: its name and how a decoded TOML value is checked and stored.
// A new key is one row here plus its DaemonConfig field (with the same name
// in its toml tag; TestDaemonKeysMatchFields holds the two in step).
var daemonKeys = []daemonKey{
	pathKey("cgroup_root", func(c *DaemonConfig) *string { return &c.CgroupRoot }),
	pathKey("proc_root", func(c *DaemonConfig) *string { return &c.ProcRoot }),
	pathKey("state_dir", func(c *DaemonConfig) *string { return &c.StateDir }),
	pathsKey("policy_dirs", func(c *DaemonConfig) *[]string { return &c.PolicyDirs }),
	durationKey("interval", func(c *DaemonConfig) *time.Duration { return &c.Interval.Duration }),
	durationKey("resync", func(c *DaemonConfig) *time.Duration { return &c.Resync.Duration }),
	boolKey("dry_run", func(c *DaemonConfig) *bool { return &c.DryRun }),
	pathKey("socket", func(c *DaemonConfig) *string { return &c.Socket }),
	stringKey("socket_group", func(c *DaemonConfig) *string { return &c.SocketGroup }, nil),
	emptyIsDefault(stringKey("metrics_addr", func(c *DaemonConfig) *string { return &c.MetricsAddr }, listenAddrOrOff)),
	stringKey("metrics_web_config", func(c *DaemonConfig) *string { return &c.MetricsWebConfig }, optional(absPath)),
	intKey("metrics_max_containers", func(c *DaemonConfig) *int { return &c.MetricsMaxContainers }, 0),
	intKey("max_evictions_per_minute", func(c *DaemonConfig) *int { return &c.MaxEvictionsPerMinute }, 1),
	commandKey("pre_evict_hook", func(c *DaemonConfig) *[]string { return &c.PreEvictHook }),
	stringKey("use_systemd", func(c *DaemonConfig) *string { return &c.UseSystemd }, oneOf("auto", "yes", "no")),
	boolKey("pressure_wakeups", func(c *DaemonConfig) *bool { return &c.PressureWakeups }),
	boolKey("lock_memory", func(c *DaemonConfig) *bool { return &c.LockMemory }),
}

// daemonKey is one row of daemonKeys. set checks v, as the TOML decoder
// gave it (string, int64, float64, bool, []any, map[string]any,
// time.Time), and stores it in c; it returns what is wrong, or nil.
type daemonKey struct {
	name string
	set  func(c *DaemonConfig, v any) *badValue
}

// badValue is what is wrong with a key's value, or with element elem of
// the array it holds (elem is -1 for the value as a whole).
type badValue struct {
	elem int
	msg  string
}

func bad(format string, args ...any) *badValue {
	return &badValue{elem: -1, msg: fmt.Sprintf(format, args...)}
}

func (b *badValue) key(name string) string {
	if b.elem >= 0 {
		return fmt.Sprintf("%s[%d]", name, b.elem)
	}
	return name
}

func daemonKeyByName(name string) (daemonKey, bool) {
	for _, k := range daemonKeys {
		if k.name == name {
			return k, true
		}
	}
	return daemonKey{}, false
}

func daemonKeyNames() []string {
	out := make([]string, len(daemonKeys))
	for i, k := range daemonKeys {
		out[i] = k.name
	}
	return out
}

func wrongType(want string, v any) *badValue {
	return bad("want %s, got %s", want, policies.Describe(v))
}

// stringKey is a string; check, when set, returns what is wrong with it or "".
func stringKey(name string, field func(*DaemonConfig) *string, check func(string) string) daemonKey {
	return daemonKey{name, func(c *DaemonConfig, v any) *badValue {
		s, ok := v.(string)
		if !ok {
			return wrongType("a string", v)
		}
		if check != nil {
			if msg := check(s); msg != "" {
				return bad("%s", msg)
			}
		}
		*field(c) = s
		return nil
	}}
}

func absPath(s string) string {
	if !filepath.IsAbs(s) {
		return fmt.Sprintf("want an absolute path, got %q", s)
	}
	return ""
}

func pathKey(name string, field func(*DaemonConfig) *string) daemonKey {
	return stringKey(name, field, absPath)
}

func oneOf(allowed ...string) func(string) string {
	return func(s string) string {
		for _, a := range allowed {
			if s == a {
				return ""
			}
		}
		want := ""
		for i, a := range allowed {
			switch {
			case i == 0:
			case i == len(allowed)-1:
				want += " or "
			default:
				want += ", "
			}
			want += strconv.Quote(a)
		}
		return fmt.Sprintf("want %s, got %q", want, s)
	}
}

// emptyIsDefault makes "" leave k at its default (rather than set "").
func emptyIsDefault(k daemonKey) daemonKey {
	set := k.set
	k.set = func(c *DaemonConfig, v any) *badValue {
		if v == "" {
			return nil
		}
		return set(c, v)
	}
	return k
}

// listenAddrOrOff accepts "host:port" (host may be empty: every address),
// "off", and "" (the default address).
func listenAddrOrOff(s string) string {
	if s == "off" || s == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(s)
	if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || n == 0 {
		return fmt.Sprintf("want host:port with a port from 1 to 65535 (e.g. \"127.0.0.1:9477\"), or \"off\"; got %q", s)
	}
	return ""
}

func boolKey(name string, field func(*DaemonConfig) *bool) daemonKey {
	return daemonKey{name, func(c *DaemonConfig, v any) *badValue {
		b, ok := v.(bool)
		if !ok {
			return wrongType("true or false", v)
		}
		*field(c) = b
		return nil
	}}
}

func durationKey(name string, field func(*DaemonConfig) *time.Duration) daemonKey {
	return daemonKey{name, func(c *DaemonConfig, v any) *badValue {
		s, ok := v.(string)
		if !ok {
			return wrongType(`a duration such as "1s" or "500ms"`, v)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad("%q is not a duration (e.g. \"1s\", \"500ms\")", s)
		}
		if d <= 0 {
			return bad("must be positive, got %s", s)
		}
		*field(c) = d
		return nil
	}}
}

// intKey is an integer of at least lowest.
func intKey(name string, field func(*DaemonConfig) *int, lowest int64) daemonKey {
	return daemonKey{name, func(c *DaemonConfig, v any) *badValue {
		n, ok := v.(int64)
		if !ok {
			return wrongType("an integer", v)
		}
		if n < lowest || n > 1<<31-1 {
			return bad("want an integer from %d to %d, got %d", lowest, 1<<31-1, n)
		}
		*field(c) = int(n)
		return nil
	}}
}

// stringArray checks that v is an array of strings, each passing check.
func stringArray(v any, check func(i int, s string) string) ([]string, *badValue) {
	a, ok := v.([]any)
	if !ok {
		return nil, wrongType("an array of strings", v)
	}
	out := make([]string, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, &badValue{elem: i, msg: "want a string, got " + policies.Describe(e)}
		}
		if msg := check(i, s); msg != "" {
			return nil, &badValue{elem: i, msg: msg}
		}
		out[i] = s
	}
	return out, nil
}

// pathsKey is a non-empty array of absolute paths.
func pathsKey(name string, field func(*DaemonConfig) *[]string) daemonKey {
	return daemonKey{name, func(c *DaemonConfig, v any) *badValue {
		ps, b := stringArray(v, func(_ int, s string) string { return absPath(s) })
		if b != nil {
			return b
		}
		if len(ps) == 0 {
			return bad("want at least one directory or file")
		}
		*field(c) = ps
		return nil
	}}
}

// commandKey is a command and its arguments: the program by absolute path
// (quelld runs it from the unit's environment, without a shell or $PATH
// lookup one could rely on). An empty array means none.
func commandKey(name string, field func(*DaemonConfig) *[]string) daemonKey {
	return daemonKey{name, func(c *DaemonConfig, v any) *badValue {
		argv, b := stringArray(v, func(i int, s string) string {
			if i == 0 {
				if msg := absPath(s); msg != "" {
					return "the program: " + msg
				}
			}
			return ""
		})
		if b != nil {
			return b
		}
		*field(c) = argv
		return nil
	}}
}

// optional lets "" pass, else check.
func optional(check func(string) string) func(string) string {
	return func(s string) string {
		if s == "" {
			return ""
		}
		return check(s)
	}
}
