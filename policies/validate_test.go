package policies

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// head is a valid tenant of four lines; cases append to it from line 5.
const head = `[[tenant]]
name = "acme"
[tenant.match]
names = ["acme-*"]
`

func testOptions() Options {
	return Options{HostCPUs: 8, DeviceExists: func(p string) error {
		if p == "/dev/nope" {
			return errors.New("no such device")
		}
		return nil
	}}
}

// Every problem is reported with the file, line, column and key a user
// must fix, all at once, in file order.
func TestValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string // the whole error, one problem a line
	}{
		{"unknown key", head + "[tenant.limits]\nmemroy = \"1GiB\"\n",
			`p.toml:6:1: tenant "acme": unknown key "limits.memroy" (did you mean "limits.memory"?)`},
		{"unknown top-level key", "tenants = []\n",
			`p.toml:1:1: unknown key "tenants" (did you mean "tenant"?)`},
		{"wrong types and bad values", head + `[tenant.limits]
cpus = "2"
memory = "4G"
memory_low = "5GiB"
cpu_weight = 0
io_weight = 10001
pids = 0
cpuset = "3-1"
cpuset_mems = "0,"
swap = -1
`, `p.toml:6:1: tenant "acme": limits.cpus: want a number, got string "2"
p.toml:7:1: tenant "acme": limits.memory: unknown size unit "G" (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)
p.toml:9:1: tenant "acme": limits.cpu_weight: 0 is outside 1..10000
p.toml:10:1: tenant "acme": limits.io_weight: 10001 is outside 1..10000
p.toml:11:1: tenant "acme": limits.pids: 0 must be at least 1 (leave pids out for no limit)
p.toml:12:1: tenant "acme": limits.cpuset: cpuset "3-1": range "3-1" runs backwards
p.toml:13:1: tenant "acme": limits.cpuset_mems: bad cpuset "0," (use a list such as "0-3,8")
p.toml:14:1: tenant "acme": limits.swap: size -1 is negative`},
		{"memory_low above memory", head + "[tenant.limits]\nmemory = \"1GiB\"\nmemory_low = 1073741825\n",
			`p.toml:7:1: tenant "acme": limits.memory_low (1073741825) is above limits.memory (1GiB)`},
		{"zero memory", head + "[tenant.limits]\nmemory = \"0\"\n",
			`p.toml:6:1: tenant "acme": limits.memory: 0 would leave no memory at all (leave memory out for no limit)`},
		{"cpus zero", head + "[tenant.limits]\ncpus = 0\n",
			`p.toml:6:1: tenant "acme": limits.cpus: 0 must be above 0 (leave cpus out for no limit)`},
		{"cpus negative", head + "[tenant.limits]\ncpus = -1.5\n",
			`p.toml:6:1: tenant "acme": limits.cpus: -1.5 must be above 0 (leave cpus out for no limit)`},
		{"cpus nan", head + "[tenant.limits]\ncpus = nan\n",
			`p.toml:6:1: tenant "acme": limits.cpus: want a finite number, got NaN`},
		{"io, cpus above host, net without unit", head + `[tenant.limits]
cpus = 16
io = [{ device = "/dev/nope", read_bps = "1MB" }, { device = "/dev/vda" }, { device = "vda", write_iops = -1 }, 5]
net = { egress = 100 }
disk = { volumes = ["data"] }
`, `p.toml:6:1: tenant "acme": limits.cpus: 16 is more than this host's 8 CPUs
p.toml:7:9: tenant "acme": limits.io[0].device: "/dev/nope": no such device
p.toml:7:51: tenant "acme": limits.io[1] sets no limit (give read_bps, write_bps, read_iops or write_iops)
p.toml:7:78: tenant "acme": limits.io[2].device: "vda" is not a device path such as "/dev/vda"
p.toml:7:94: tenant "acme": limits.io[2].write_iops: -1 is negative
p.toml:7:113: tenant "acme": limits.io[3]: want a table, got integer 5
p.toml:8:9: tenant "acme": limits.net.egress: want a rate with a unit such as "100Mbit" or "10MB", got integer 100
p.toml:9:1: tenant "acme": limits.disk needs bytes or inodes
p.toml:9:21: tenant "acme": limits.disk.volumes[0]: "data" is not an absolute path`},
		{"container cap above the tenant's total", head + `[tenant.limits]
memory = "1GiB"
cpuset = "0-3"
net = { egress = "10MB" }
io = [{ device = "/dev/vda", read_bps = "100MB" }]
[tenant.container]
memory = "2GiB"
cpuset = "2-5"
net = { egress = "100Mbit" }
io = [{ device = "/dev/vda", read_bps = "200MB" }]
`, `p.toml:11:1: tenant "acme": container.memory (2GiB) is above limits.memory (1GiB), the tenant's total
p.toml:12:1: tenant "acme": container.cpuset ("2-5") has CPUs outside limits.cpuset ("0-3")
p.toml:13:9: tenant "acme": container.net.egress (100Mbit) is above limits.net.egress (10MB), the tenant's total
p.toml:14:30: tenant "acme": container.io[0].read_bps (200MB) is above limits.io[0].read_bps (100MB), the tenant's total`},
		{"empty match", "[[tenant]]\nname = \"x\"\n[tenant.match]\ncgroups = []\n",
			`p.toml:3:1: tenant "x": match is empty and would take every container; to mean that, write cgroups = ["**"]`},
		{"no match", "[[tenant]]\nname = \"x\"\n",
			`p.toml:1:1: tenant "x": match is missing: a tenant must say which containers it takes; to take every container, write cgroups = ["**"] under [tenant.match]`},
		{"bad globs", `[[tenant]]
name = "x"
[tenant.match]
cgroups = ["/system.slice/*", "a/**/b", "[a", "kubepods.slice/**", "**", "a//b", ""]
names = ["**", "ok-*"]
labels = { "app" = 1 }
`, `p.toml:4:12: tenant "x": match.cgroups[0]: "/system.slice/*": globs are relative to the cgroup root: drop the leading "/"
p.toml:4:31: tenant "x": match.cgroups[1]: "a/**/b": "**" is only supported as the last element, as in "kubepods.slice/**"; use "*" for one element
p.toml:4:41: tenant "x": match.cgroups[2]: "[a": bad glob syntax (see Go's path.Match; a [class] cannot hold "/")
p.toml:4:74: tenant "x": match.cgroups[5]: "a//b": empty path element
p.toml:4:82: tenant "x": match.cgroups[6]: "": empty glob
p.toml:5:10: tenant "x": match.names[0]: "**": "**" is not supported in name globs; "*" already matches any name without "/"
p.toml:6:12: tenant "x": match.labels.app: want a string, got integer 1`},
		{"bad name and class", "[[tenant]]\nname = \"Acme\"\nclass = \"gold\"\n[tenant.match]\nnames = [\"a\"]\n",
			`p.toml:2:1: tenant #1: name: "Acme" is not a valid name (lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters)
p.toml:3:1: tenant #1: class: unknown class "gold" (use guaranteed, burstable or best-effort)`},
		{"long name", "[[tenant]]\nname = \"" + strings.Repeat("a", 64) + "\"\n[tenant.match]\nnames = [\"a\"]\n",
			`p.toml:2:1: tenant #1: name: "` + strings.Repeat("a", 64) + `" is not a valid name (lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters)`},
		{"missing name", "[[tenant]]\n[tenant.match]\nnames = [\"a\"]\n",
			`p.toml:1:1: tenant #1: name is missing`},
		{"version and [tenant]", "version = 2\n[tenant]\nname = \"x\"\n",
			`p.toml:1:1: version: integer 2 is not supported: this quell reads version 1
p.toml:2:1: [tenant] must be written [[tenant]] (an array of tables)`},
		{"version as string", "version = \"1\"\n",
			`p.toml:1:1: version: string "1" is not supported: this quell reads version 1`},
		{"TOML syntax", "[[tenant]]\nname = \"x\n",
			`p.toml:2:10: TOML syntax: strings cannot contain newlines`},
		{"TOML duplicate key", "[[tenant]]\nname = \"x\"\nname = \"y\"\n",
			`p.toml:3:12: TOML syntax: Key 'tenant.name' has already been defined.`},
		{"rule signal, sides, target", `[[rule]]
name = "r"
when = { signal = "host.cpu.some.avg100", above = 40.0, below = 10.0, for = "5s" }
target = { classes = ["gold"], rank = "disk", tenants = ["nobody"] }
ladder = []
`, `p.toml:3:10: rule "r": when.signal: unknown signal "host.cpu.some.avg100" (did you mean "host.cpu.some.avg10"?)
p.toml:3:57: rule "r": when has both above and below: a rule watches one side (write two rules)
p.toml:4:23: rule "r": target.classes[0]: unknown class "gold" (use guaranteed, burstable or best-effort)
p.toml:4:32: rule "r": target.rank: unknown rank "disk" (use cpu, memory, io or pids)
p.toml:4:58: rule "r": target.tenants[0]: no tenant is named "nobody"`},
		{"rule signal recent misspelt", "[[rule]]\nname = \"r\"\nwhen = { signal = \"tenant.memory.full.recnt\", above = 4 }\nladder = [{ action = \"evict\" }]\n",
			`p.toml:3:10: rule "r": when.signal: unknown signal "tenant.memory.full.recnt" (did you mean "tenant.memory.full.recent"?)`},
		{"rule unknown signal far from any", "[[rule]]\nname = \"r\"\nwhen = { signal = \"load1\", above = 4 }\nladder = [{ action = \"evict\" }]\n",
			`p.toml:3:10: rule "r": when.signal: unknown signal "load1" (signals are ` + signalSummary + `)`},
		{"rule empty ladder", "[[rule]]\nname = \"r\"\nwhen = { signal = \"host.io.full.avg60\", above = 10 }\nladder = []\n",
			`p.toml:4:1: rule "r": ladder: empty: give at least one step, e.g. [{ action = "throttle", factor = 0.5, for = "60s" }]`},
		{"rule no ladder, threshold out of range", "[[rule]]\nname = \"r\"\nwhen = { signal = \"host.io.full.avg60\", above = 140 }\n",
			`p.toml:1:1: rule "r": ladder is missing (e.g. ladder = [{ action = "throttle", factor = 0.5, for = "60s" }])
p.toml:3:41: rule "r": when.above: 140 is outside 0..100, the range of host.io.full.avg60`},
		{"rule ladder steps", `[[rule]]
name = "r"
when = { signal = "host.cpu.some.avg10", above = 40.0 }
release = 50
ladder = [{ action = "throttle", factor = 1.5 }, { action = "evict" }, { action = "freeze", for = "1s" }, { action = "kill" }]
cooldown = "soon"
dry_run = "yes"
`, `p.toml:4:1: rule "r": release (50) is above when.above (40): the rule would release before it fires
p.toml:5:11: rule "r": ladder[0].for is missing: throttle needs a duration (every penalty has a deadline)
p.toml:5:34: rule "r": ladder[0].factor: 1.5 is outside (0, 1)
p.toml:5:72: rule "r": ladder[2]: a step after evict (ladder[1]) can never run
p.toml:5:107: rule "r": ladder[3]: a step after evict (ladder[1]) can never run
p.toml:5:109: rule "r": ladder[3].action: unknown action "kill" (use throttle, freeze or evict)
p.toml:6:1: rule "r": cooldown: bad duration "soon" (use a Go duration such as "30s" or "1m30s")
p.toml:7:1: rule "r": dry_run: want true or false, got string "yes"`},
		{"rule neither side, evict with for, factor on freeze", `[[rule]]
name = "r"
when = { signal = "host.memory.available", for = "-5s" }
release = 10
ladder = [{ action = "evict", for = "1s" }, { action = "freeze", factor = 0.5, for = "0s" }]
`, `p.toml:3:1: rule "r": when needs above or below
p.toml:3:44: rule "r": when.for: duration "-5s" is negative
p.toml:5:31: rule "r": ladder[0].for: evict takes no duration
p.toml:5:45: rule "r": ladder[1]: a step after evict (ladder[0]) can never run
p.toml:5:66: rule "r": ladder[1].factor: only throttle takes a factor
p.toml:5:80: rule "r": ladder[1].for: must be above 0: every penalty has a deadline`},
		{"rule below with release below it", "[[rule]]\nname = \"r\"\nwhen = { signal = \"host.memory.available\", below = 10 }\nrelease = 5\nladder = [{ action = \"evict\" }]\n",
			`p.toml:4:1: rule "r": release (5) is below when.below (10): the rule would release before it fires`},
		{"detectors", `[[detector]]
name = "d"
kind = "flat-cpu"
names = ["xmrig"]
action = "throttle"
[[detector]]
name = "e"
kind = "endpoint"
ports = [0, 3333, "x"]
addresses = ["10.0.0.0/8", "bogus"]
action = "freeze"
for = "1m"
[[detector]]
name = "f"
kind = "gpu"
[[detector]]
name = "g"
kind = "process-name"
names = ["xm[rig"]
action = "evict"
classes = ["best-effort", "free"]
`, `p.toml:1:1: detector "d": min_cpus is missing: flat-cpu needs it, e.g. min_cpus = 0.9
p.toml:1:1: detector "d": window is missing: flat-cpu needs it, e.g. window = "10m"
p.toml:1:1: detector "d": factor is missing: throttle needs one, e.g. factor = 0.5
p.toml:1:1: detector "d": for is missing: throttle needs a duration (every penalty has a deadline)
p.toml:4:1: detector "d": names: applies only to kind "process-name", not "flat-cpu"
p.toml:9:10: detector "e": ports[0]: want a port 1..65535, got integer 0
p.toml:9:19: detector "e": ports[2]: want a port 1..65535, got string "x"
p.toml:10:28: detector "e": addresses[1]: "bogus" is not an IP address or CIDR prefix
p.toml:13:1: detector "f": action is missing (throttle, freeze or evict)
p.toml:15:1: detector "f": kind: unknown kind "gpu" (use flat-cpu, process-name or endpoint)
p.toml:19:10: detector "g": names[0]: "xm[rig": bad glob syntax (see Go's path.Match)
p.toml:21:27: detector "g": classes[1]: unknown class "free" (use guaranteed, burstable or best-effort)`},
		{"positions inside the n-th tenant", `[[tenant]]
name = "a"
[tenant.match]
names = ["a"]
[tenant.limits]
memory = "1GiB"

[[tenant]]
name = "b"
[tenant.match]
names = ["b"]
  [tenant.limits]
  memory = "1GiB"
  memory_high = "2GiB"
[[tenant]]
name = "a"
[tenant.match]
names = ["c"]
`, `p.toml:14:3: tenant "b": limits.memory_high (2GiB) is above limits.memory (1GiB)
p.toml:16:1: tenant "a": name "a" is already used by the tenant at p.toml:1:1`},
		{"dotted keys, quoted keys, multi-line arrays", `[[tenant]]
name = "a"
match.names = ["a"]
limits.memory = "1GiB"
limits.memory_high = "2GiB"
limits.foo = 1983-01-01T00:00:00Z
[[tenant]]
name = "b"
[tenant.match.labels]
"io.kubernetes.pod.\u006eamespace" = "b"
'lit.key' = 5
[tenant.limits]
io = [
  # first disk, "quoted" [bracket]
  { device = "/dev/vda",
    read_bps = "1MB" },
  { device = "/dev/vda", read_bps = """
x""" },
]
`, `p.toml:5:1: tenant "a": limits.memory_high (2GiB) is above limits.memory (1GiB)
p.toml:6:1: tenant "a": unknown key "limits.foo"
p.toml:11:1: tenant "b": match.labels."lit.key": want a string, got integer 5
p.toml:17:5: tenant "b": limits.io[1].device: "/dev/vda" already has an entry at p.toml:15:3
p.toml:17:26: tenant "b": limits.io[1].read_bps: "x" does not start with a number`},
		{"inline array of tenants", `tenant = [{ name = "a", match = { names = [] }, limits = { memory = "1GiB", memory_high = "2GiB" } }]`,
			`p.toml:1:25: tenant "a": match is empty and would take every container; to mean that, write cgroups = ["**"]
p.toml:1:77: tenant "a": limits.memory_high (2GiB) is above limits.memory (1GiB)`},
		{"sub-arrays of a tenant", head + "[[tenant.bogus]]\nx = 1\n[[tenant.bogus]]\ny = 1\n[[tenant]]\nname = \"b\"\n[tenant.match]\nnames = [1]\n",
			`p.toml:5:1: tenant "acme": unknown key "bogus"
p.toml:12:10: tenant "b": match.names[0]: want a string, got integer 1`},
		{"rule naming an undefined tenant", head + `[[rule]]
name = "r"
when = { signal = "tenant.memory.full.avg10", above = 5 }
target = { tenants = ["acme", "acne"] }
ladder = [{ action = "freeze", for = "10s" }]
`, `p.toml:8:31: rule "r": target.tenants[1]: no tenant is named "acne"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("p.toml", []byte(tt.src), testOptions())
			if err == nil {
				t.Fatalf("no error; policy %+v", p)
			}
			if p != nil {
				t.Errorf("a policy was returned with the error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != strings.Count(tt.want, "\n")+1 {
				t.Errorf("want an Errors with one *Error per line, got %T %d", err, len(es))
			}
			for _, e := range es {
				if e.File != "p.toml" || e.Line < 1 || e.Col < 1 {
					t.Errorf("problem without a position: %#v", e)
				}
			}
		})
	}
}

// The example from the brief, at its exact position.
func TestErrorNamesFileLineColumnAndKey(t *testing.T) {
	t.Parallel()
	src := `# acme's tenant
version = 1

[[tenant]]
name = "acme"
class = "guaranteed"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  names = ["acme-*"]
  [tenant.limits]
  memory = "4GiB"
  memory_high = "5GiB"
`
	_, err := Parse("policy.d/10-acme.toml", []byte(src), Options{})
	want := `policy.d/10-acme.toml:12:3: tenant "acme": limits.memory_high (5GiB) is above limits.memory (4GiB)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	e := err.(Errors)[0]
	if e.File != "policy.d/10-acme.toml" || e.Line != 12 || e.Col != 3 || e.Key != "limits.memory_high" || e.Owner != `tenant "acme"` {
		t.Errorf("got %#v", e)
	}
}

// Valid corner cases that must not be refused.
func TestValidCorners(t *testing.T) {
	t.Parallel()
	tests := []string{
		head,
		head + "[tenant.limits]\ncpus = 8\nmemory = 1073741824\nswap = \"0\"\nmemory_low = \"0\"\n",
		head + "[tenant.limits]\ncpus = 0.01\nmemory_high = \"1GiB\"\n[tenant.container]\nmemory = \"2GiB\"\n", // no aggregate memory to compare with
		head + "[tenant.limits]\nio = [{ device = \"/dev/vda\", read_bps = 1000 }]\n[tenant.container]\nio = [{ device = \"/dev/vdb\", read_bps = \"1GB\" }]\n",
		head + "[tenant.limits]\nnet = { egress = \"0Mbit\", ingress = \"1Gbit\" }\n[tenant.container]\nnet = { egress = \"10Gbit\" }\n", // 0: not limited
		"version = 1\n" + head,
		"# nothing but a comment\n",
		"",
		"[[tenant]]\nname = \"all\"\nclass = \"best-effort\"\n[tenant.match]\ncgroups = [\"**\"]\n",
		"[[tenant]]\nname = \"k8s\"\n[tenant.match]\nlabels = { \"io.kubernetes.pod.namespace\" = \"*\" }\n",
		"[[rule]]\nname = \"mem\"\nwhen = { signal = \"host.memory.available\", below = 5 }\nrelease = 10\nladder = [{ action = \"evict\" }]\n",
		"[[rule]]\nname = \"io\"\nwhen = { signal = \"tenant.io.full.avg60\", above = 30 }\nladder = [{ action = \"throttle\", factor = 0.25, for = \"1m\" }]\ndry_run = true\n",
		"[[detector]]\nname = \"xmrig\"\nkind = \"process-name\"\nnames = [\"xmrig*\", \"minerd\"]\naction = \"evict\"\n",
		"[[detector]]\nname = \"pools\"\nkind = \"endpoint\"\nports = [3333, 14444]\naddresses = [\"203.0.113.7\", \"2001:db8::/32\"]\naction = \"freeze\"\nfor = \"10m\"\n",
		"\ufeff" + head, // a byte-order mark
		strings.ReplaceAll(head, "\n", "\r\n"),
	}
	for i, src := range tests {
		if _, err := Parse(fmt.Sprintf("valid%d.toml", i), []byte(src), testOptions()); err != nil {
			t.Errorf("case %d:\n%s\nerror: %v", i, src, err)
		}
	}
}

// Defaults the enforcer relies on.
func TestDefaults(t *testing.T) {
	t.Parallel()
	p, err := Parse("d.toml", []byte(head+`[[rule]]
name = "mem"
when = { signal = "host.memory.some.avg10", above = 20 }
ladder = [{ action = "evict" }]
[[detector]]
name = "flat"
kind = "flat-cpu"
min_cpus = 1
window = "5m"
action = "evict"
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Tenants[0].Class; c != Burstable {
		t.Errorf("default class %q, want burstable", c)
	}
	if r := p.Rules[0].Target.Rank; r != RankMemory {
		t.Errorf("default rank %q, want memory (from the signal)", r)
	}
	if s := p.Detectors[0].MaxStddev; s != DefaultMaxStddev {
		t.Errorf("default max_stddev %v", s)
	}
}

func TestSignals(t *testing.T) {
	t.Parallel()
	s := Signals()
	names := map[string]bool{}
	for _, x := range s {
		names[x.Name] = true
	}
	for _, want := range []string{"host.cpu.some.avg10", "host.cpu.full.avg60", "host.memory.available",
		"host.io.full.avg10", "tenant.cpu.some.avg10", "tenant.memory.full.avg10", "tenant.io.some.avg10"} {
		if !names[want] {
			t.Errorf("Signals() lacks %s", want)
		}
	}
	if names["host.load1"] {
		t.Error("unexpected signal")
	}
	for i := 1; i < len(s); i++ {
		if s[i-1].Name >= s[i].Name {
			t.Errorf("not sorted at %s", s[i].Name)
		}
	}
	s[0].Name = "changed"
	if Signals()[0].Name == "changed" {
		t.Error("Signals() shares its slice")
	}
}
