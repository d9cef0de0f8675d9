package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
)

// hostile is what a container's creator can put in a name, a label or a
// cgroup name: a title-setting OSC, a screen clear, a forged line, a bidi
// override and invalid UTF-8.
const hostile = "evil\x1b]0;pwned\x07\x1b[2J\nFAKE LINE\u202e\xff\xfe"

func hostileSource() *api.FakeSource {
	src := fixtureSource()
	v := src.ViewValue
	big := strings.Repeat("A", 1<<20)
	c := &v.Containers[0]
	x := src.Explanations[c.Cgroup]
	delete(src.Explanations, c.Cgroup)
	c.Name = hostile
	c.Labels = map[string]string{"big": big, hostile: hostile}
	c.Cgroup = "system.slice/" + hostile + ".scope"
	c.Errors = []string{"read " + hostile}
	v.Tenants[0].LastAction = hostile
	x.Container = *c
	x.Match = "name " + hostile
	src.Explanations[c.Cgroup] = x
	src.EventList = append(src.EventList, view.Event{Seq: 3, Time: at, Kind: "limit", Tenant: "acme", Target: hostile, Cgroup: c.Cgroup, Reason: big + hostile})
	v.Rules = []view.RuleView{{Rule: "storm", Signal: "host.cpu.some.avg10", Value: 90, HasValue: true, HeldFor: 2e9, Step: 1,
		Culprit: c.ID, CulpritName: hostile, Waiting: "eviction of " + hostile + " deferred"}}
	src.PlanEntries[1].Cgroup = c.Cgroup
	src.PlanEntries[1].Changes = []view.Change{{File: "cpu.max", Old: "max", New: "1", Why: hostile}}
	return src
}

// assertSafe fails when out carries a byte of the hostile text that a
// terminal would act on, or a line that the hostile text started.
func assertSafe(t *testing.T, what, out string, maxLen int) {
	t.Helper()
	if strings.ContainsAny(out, "\x1b\x07\u202e") || !utf8.ValidString(out) {
		t.Errorf("%s: output carries ESC/BEL/bidi/invalid UTF-8:\n%q", what, out)
	}
	if strings.Contains(out, "\nFAKE LINE") {
		t.Errorf("%s: a name forged a line:\n%s", what, out)
	}
	if len(out) > maxLen {
		t.Errorf("%s: %d bytes of output, want at most %d", what, len(out), maxLen)
	}
}

func TestHostileNamesAreEscapedInEveryHumanOutput(t *testing.T) {
	t.Parallel()
	src := hostileSource()
	sock := serve(t, src)
	cg := src.ViewValue.Containers[0].Cgroup
	for _, args := range [][]string{
		{"containers"}, {"containers", "--all"}, {"top", "--once", "-c"}, {"tenants"}, {"status"},
		{"explain", cg}, {"events"}, {"plan"},
	} {
		r := run(t, nil, Options{}, append(args, "--socket", sock)...)
		if r.code != 0 && !(args[0] == "status" && r.code == 1) {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		assertSafe(t, strings.Join(args, " "), r.stdout+r.stderr, 64<<10)
		if args[0] == "explain" && !strings.Contains(r.stdout, `(evil\x1b]0;pwned\a\x1b[2J\nFAKE LINE\u202e`) {
			t.Errorf("explain: the name is not shown escaped:\n%s", r.stdout)
		}
	}
	// --json keeps the exact values.
	r := run(t, nil, Options{}, "explain", cg, "--json", "--socket", sock)
	var x view.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
		t.Fatalf("explain --json: %v", err)
	}
	if x.Container.Labels["big"] != strings.Repeat("A", 1<<20) || !strings.HasPrefix(x.Container.Name, "evil\x1b]0;pwned\x07\x1b[2J\nFAKE LINE\u202e") {
		t.Errorf("explain --json changed the values: name %q", x.Container.Name)
	}
}

func TestSafeCopyLeavesTheOriginal(t *testing.T) {
	t.Parallel()
	v := hostileSource().ViewValue
	s := safeCopy(v)
	if v.Containers[0].Name != hostile || s.Containers[0].Name == hostile {
		t.Fatalf("original %q, copy %q", v.Containers[0].Name, s.Containers[0].Name)
	}
	if s.Time != v.Time || s.Containers[0].Usage != v.Containers[0].Usage || s.Penalties[0].Deadline != v.Penalties[0].Deadline {
		t.Errorf("non-string values changed")
	}
	if safeCopy[*view.View](nil) != nil {
		t.Errorf("nil pointer should stay nil")
	}
}
