package enforcer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

func TestLoadDaemonConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := LoadDaemonConfig(filepath.Join(dir, "missing.toml"))
	if err != nil || c.Interval.Duration != time.Second || c.Socket != "/run/quell/quelld.sock" {
		t.Fatalf("missing file: %+v, %v; want defaults", c, err)
	}
	p := filepath.Join(dir, "quelld.toml")
	must(t, os.WriteFile(p, []byte("interval = \"500ms\"\ndry_run = true\n"), 0o644))
	c, err = LoadDaemonConfig(p)
	if err != nil || c.Interval.Duration != 500*time.Millisecond || !c.DryRun || c.StateDir != "/var/lib/quell" {
		t.Fatalf("LoadDaemonConfig = %+v, %v", c, err)
	}
	if c.Config().NoPressureWakeups || !c.LockMemory {
		t.Fatalf("PSI wake-ups and memory locking must be on by default: %+v", c)
	}
	must(t, os.WriteFile(p, []byte("pressure_wakeups = false\nlock_memory = false\n"), 0o644))
	if c, err = LoadDaemonConfig(p); err != nil || !c.Config().NoPressureWakeups || c.LockMemory {
		t.Fatalf("pressure_wakeups = lock_memory = false: NoPressureWakeups = %v, LockMemory = %v, err %v", c.Config().NoPressureWakeups, c.LockMemory, err)
	}
	// A directory where the file should be is unreadable, not invalid.
	must(t, os.Mkdir(filepath.Join(dir, "d.toml"), 0o755))
	_, err = LoadDaemonConfig(filepath.Join(dir, "d.toml"))
	var pe policies.Errors
	if !errors.As(err, &pe) || !pe.Unreadable() {
		t.Errorf("a directory as config: %v, want an unreadable-file error", err)
	}
}

// Every key is checked: its type, its range, its position.
func TestParseDaemonConfigFindings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want []string // "line:col key: message part", one per finding in order
	}{
		{"intervall = \"1s\"\n", []string{`1:1 intervall: unknown key "intervall" (did you mean "interval"?)`}},
		{"x = 1\n", []string{`1:1 x: unknown key "x"; quelld.toml has cgroup_root, proc_root`}},
		{"[web]\ntls = true\n", []string{`1:1 web: unknown key "web"`}},
		{"interval = \"soon\"\n", []string{`1:1 interval: "soon" is not a duration`}},
		{"  interval = \"-1s\"\n", []string{`1:3 interval: must be positive`}},
		{"resync = 30\n", []string{`1:1 resync: want a duration such as "1s" or "500ms", got integer 30`}},
		{"use_systemd = \"maybe\"\n", []string{`1:1 use_systemd: want "auto", "yes" or "no", got "maybe"`}},
		{"pressure_wakeups = \"yes\"\n", []string{`1:1 pressure_wakeups: want true or false, got string "yes"`}},
		{"lock_memory = 1\n", []string{`1:1 lock_memory: want true or false, got integer 1`}},
		{"dry_run = \"no\"\n", []string{`1:1 dry_run: want true or false`}},
		{"state_dir = \"var/lib/quell\"\n", []string{`1:1 state_dir: want an absolute path, got "var/lib/quell"`}},
		{"cgroup_root = \"\"\n", []string{`1:1 cgroup_root: want an absolute path`}},
		{"proc_root = [\"/proc\"]\n", []string{`1:1 proc_root: want a string, got array`}},
		{"socket = \"quelld.sock\"\n", []string{`1:1 socket: want an absolute path`}},
		{"socket_group = 0\n", []string{`1:1 socket_group: want a string, got integer 0`}},
		{"policy_dirs = []\n", []string{`1:1 policy_dirs: want at least one`}},
		{"policy_dirs = [\n  \"/etc/quell/policy.d\",\n  \"policy.d\",\n]\n", []string{`3:3 policy_dirs[1]: want an absolute path, got "policy.d"`}},
		{"policy_dirs = \"/etc/quell/policy.d\"\n", []string{`1:1 policy_dirs: want an array of strings, got string`}},
		{"metrics_addr = \"9477\"\n", []string{`1:1 metrics_addr: want host:port`}},
		{"metrics_addr = \"localhost:http\"\n", []string{`1:1 metrics_addr: want host:port`}},
		{"metrics_addr = \":0\"\n", []string{`1:1 metrics_addr: want host:port`}},
		{"max_evictions_per_minute = 0\n", []string{`1:1 max_evictions_per_minute: want an integer from 1 to`}},
		{"max_evictions_per_minute = 2.5\n", []string{`1:1 max_evictions_per_minute: want an integer, got float 2.5`}},
		{"pre_evict_hook = [\"notify-owner\", \"--now\"]\n", []string{`1:19 pre_evict_hook[0]: the program: want an absolute path`}},
		{"pre_evict_hook = [\"/bin/x\", 3]\n", []string{`1:29 pre_evict_hook[1]: want a string, got integer 3`}},
		{"[[x\n", []string{`2:4 : TOML syntax`}},
		{"interval = \"1s\"\ninterval = \"2s\"\n", []string{`2:17 : TOML syntax: Key 'interval' has already been defined`}},
		// Every problem at once, in file order.
		{"lock_memory = \"yes\"\nbogus = 1\ninterval = \"0s\"\n", []string{
			`1:1 lock_memory: want true or false`, `2:1 bogus: unknown key "bogus"`, `3:1 interval: must be positive`}},
	} {
		_, err := ParseDaemonConfig("quelld.toml", []byte(tc.body))
		var es policies.Errors
		if !errors.As(err, &es) {
			t.Errorf("%q: err = %v, want policies.Errors", tc.body, err)
			continue
		}
		if es.Unreadable() {
			t.Errorf("%q: reported as unreadable", tc.body)
		}
		var got []string
		for _, e := range es {
			if e.File != "quelld.toml" {
				t.Errorf("%q: file %q", tc.body, e.File)
			}
			got = append(got, strings.Join([]string{strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col), e.Key + ":", e.Msg}, " "))
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: %d findings %q, want %d", tc.body, len(got), got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			pre, rest, _ := strings.Cut(w, ": ")
			if !strings.HasPrefix(got[i], pre+":") || !strings.Contains(got[i], rest) {
				t.Errorf("%q: finding %d = %q, want %q", tc.body, i, got[i], w)
			}
		}
	}
}

// Good values of every key are taken.
func TestParseDaemonConfigEveryKey(t *testing.T) {
	t.Parallel()
	body := `cgroup_root = "/mnt/cg"
proc_root = "/host/proc"
state_dir = "/srv/quell"
policy_dirs = ["/etc/quell/policy.d", "/srv/quell/extra.toml"]
interval = "250ms"
resync = "1m"
dry_run = true
socket = "/run/q.sock"
socket_group = ""
metrics_addr = "[::1]:9100"
max_evictions_per_minute = 5
pre_evict_hook = ["/usr/local/sbin/notify-owner", "--team", "ops"]
use_systemd = "no"
pressure_wakeups = false
lock_memory = false
metrics_web_config = "/etc/quell/web-config.yml"
metrics_max_containers = 250
`
	c, err := ParseDaemonConfig("quelld.toml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := DaemonConfig{CgroupRoot: "/mnt/cg", ProcRoot: "/host/proc", StateDir: "/srv/quell",
		PolicyDirs: []string{"/etc/quell/policy.d", "/srv/quell/extra.toml"}, Interval: duration{250 * time.Millisecond},
		Resync: duration{time.Minute}, DryRun: true, Socket: "/run/q.sock", SocketGroup: "", MetricsAddr: "[::1]:9100",
		MaxEvictionsPerMinute: 5, PreEvictHook: []string{"/usr/local/sbin/notify-owner", "--team", "ops"}, UseSystemd: "no",
		MetricsWebConfig: "/etc/quell/web-config.yml", MetricsMaxContainers: 250}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	// The body above sets every key: a new key needs a line there too.
	if n := strings.Count(body, "\n"); n != len(daemonKeys) {
		t.Errorf("the test sets %d keys, quelld.toml has %d", n, len(daemonKeys))
	}
	for _, off := range []string{"off", ""} {
		c, err := ParseDaemonConfig("quelld.toml", []byte(`metrics_addr = "`+off+`"`))
		if err != nil {
			t.Errorf("metrics_addr %q: %v", off, err)
		}
		if off == "" && c.MetricsAddr != DefaultDaemonConfig().MetricsAddr {
			t.Errorf("metrics_addr \"\" (the default, as documented): %q", c.MetricsAddr)
		}
	}
}

// Each toml tag of DaemonConfig has a row in daemonKeys and each row a
// field: a key added to the struct alone would be refused as unknown.
func TestDaemonKeysMatchFields(t *testing.T) {
	t.Parallel()
	var tags []string
	rt := reflect.TypeFor[DaemonConfig]()
	for i := range rt.NumField() {
		tags = append(tags, rt.Field(i).Tag.Get("toml"))
	}
	rows := daemonKeyNames()
	sort.Strings(tags)
	sort.Strings(rows)
	if !reflect.DeepEqual(tags, rows) {
		t.Fatalf("DaemonConfig fields %q, daemonKeys rows %q", tags, rows)
	}
}

func TestShippedDaemonConfigParses(t *testing.T) {
	t.Parallel()
	c, err := LoadDaemonConfig("../systemd/quelld.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, DefaultDaemonConfig()) {
		t.Fatalf("the shipped quelld.toml changes defaults: %+v", c)
	}
	// Every key is documented there (commented out, with its default).
	b, err := os.ReadFile("../systemd/quelld.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range daemonKeyNames() {
		if !strings.Contains(string(b), "\n#"+k+" = ") {
			t.Errorf("systemd/quelld.toml does not show %s", k)
		}
	}
	// Uncommented, the shown values are valid (and all defaults but the
	// example hook).
	var on []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") && strings.Contains(l, " = ") {
			on = append(on, strings.TrimPrefix(l, "#"))
		}
	}
	if _, err := ParseDaemonConfig("quelld.toml", []byte(strings.Join(on, "\n"))); err != nil {
		t.Errorf("the shipped quelld.toml's examples, uncommented: %v", err)
	}
}
