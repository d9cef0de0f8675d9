//go:build lab

// Hostile names never reach a terminal raw, and never break a scrape
// (issue #12 item 5). Whatever a container's creator controls is hostile
// here: a Docker container named with a terminal title-setting OSC, a
// screen clear, a forged line and a bidi override, labelled likewise; a
// second one with a 1 MiB label; and a root-owned machine scope whose cgroup
// name holds ESC and bytes that are not UTF-8 (the kernel refuses a newline
// in a cgroup name, not those). quell's human outputs against the running
// quelld must carry none of those bytes and stay small; /metrics must
// answer 200 with every other series.
package kernel

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quell-dev/quell/test/labkit"
)

const (
	hostileName  = "evil\x1b]0;pwned\x07\x1b[2J\nFAKE LINE\u202e"
	hostileScope = "machine-\xff\xfe\x1b[2Jevil.scope"
	metricsAddr  = "127.0.0.1:19477"
)

func TestQuellHostileNamesAreEscapedAndMetricsSurvive(t *testing.T) {
	labkit.Require(t)
	a := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: hostileName,
		Labels: map[string]string{"team": "hostile", "x\x1b[31m": "v\nFAKE LINE\x1b]0;pwned\x07"}})
	b := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "big-label",
		Labels: map[string]string{"big": strings.Repeat("A", 1<<20)}})
	raw := labkit.NewCgroup(t, "machine.slice/"+hostileScope)
	// A dry-run rule that always holds makes the hostile container its
	// culprit, so its name also reaches quell status's rule line.
	policy := fmt.Sprintf(`
[[tenant]]
name = "hostile"
class = "best-effort"
  [tenant.match]
  cgroups = [%q]
  [tenant.container]
  memory = "256MiB"

[[tenant]]
name = "others"
class = "guaranteed"
  [tenant.match]
  cgroups = [%q, "machine.slice/*"]
  [tenant.container]
  memory = "256MiB"

[[rule]]
name = "always"
when = { signal = "host.memory.available", above = 0.0, for = "0s" }
target = { classes = ["best-effort"], rank = "memory" }
ladder = [{ action = "throttle", factor = 0.9, for = "300s" }]
dry_run = true
`, strings.TrimPrefix(a.Cgroup, "/"), strings.TrimPrefix(b.Cgroup, "/"))
	q := startQuelld(t, policy, "--metrics", metricsAddr)
	for _, dir := range []string{a.CgroupDir, b.CgroupDir, raw} {
		waitFile(t, filepath.Join(dir, "memory.max"), "268435456", 10*time.Second)
	}

	run := func(args ...string) string { // stdout and stderr, whatever the exit status
		cmd := exec.Command("quell", append([]string{"--socket", q.socket}, args...)...)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(run("status"), "step 1 on evil") && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	outputs := map[string]string{}
	for _, args := range [][]string{
		{"containers"}, {"containers", "--all"}, {"top", "--once", "-c"}, {"tenants"}, {"status"}, {"plan"},
		{"events", "--limit", "1000"}, {"explain", a.ID}, {"explain", b.ID}, {"explain", "machine.slice/" + hostileScope},
	} {
		outputs[strings.Join(args[:1], " ")+" "+strings.Join(args[1:], " ")] = run(args...)
	}
	for what, out := range outputs {
		bad := ""
		switch {
		case strings.ContainsAny(out, "\x1b\x07\u202e"):
			bad = "ESC, BEL or a bidi override"
		case !utf8.ValidString(out):
			bad = "invalid UTF-8"
		case strings.Contains(out, "\nFAKE LINE"):
			bad = "a line forged by a name"
		case len(out) > 64<<10:
			bad = fmt.Sprintf("%d bytes", len(out))
		}
		t.Logf("FIGURE hostile-text quell %q: %d bytes", what, len(out))
		if bad != "" {
			t.Errorf("quell %q printed %s:\n%q", what, bad, labkit.Tail(out, 20))
		}
	}
	// (The scope's bytes that are not UTF-8 reach quell as U+FFFD: the API
	// is JSON.)
	if c := outputs["containers "]; !strings.Contains(c, `evil\x1b]0;pwned\a\x1b[2J\nFAKE LINE\u202e`) || !strings.Contains(c, `\x1b[2Jevil.scope`) {
		t.Errorf("quell containers does not show the hostile names escaped:\n%s", c)
	}
	if st := outputs["status "]; !strings.Contains(st, `step 1 on evil\x1b]0;pwned\a\x1b[2J\nFAKE LINE\u202e`) {
		t.Errorf("quell status does not name the hostile culprit of the rule, escaped:\n%s", st)
	}
	// The 1 MiB label, if quelld read it (a metadata size cap may refuse
	// the whole file), is shown cut with an ellipsis.
	if x := outputs["explain "+b.ID]; strings.Contains(x, "big=AAAA") && !strings.Contains(x, "A…") {
		t.Errorf("explain of the 1 MiB label: not shown capped with an ellipsis:\n%.2000s", x)
	}

	// /metrics: 200, the tenant's series and the hostile containers' there,
	// escaped, no control byte, no megabyte label.
	var body string
	var status int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			continue
		}
		bb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body, status = string(bb), resp.StatusCode
		break
	}
	t.Logf("FIGURE hostile-text metrics scrape: status %d, %d bytes, %d series", status, len(body), strings.Count(body, "\n")-2*strings.Count(body, "# HELP"))
	if status != http.StatusOK {
		t.Fatalf("/metrics answered %d:\n%.2000s", status, body)
	}
	for _, want := range []string{
		`quell_tenant_containers{tenant="hostile"} `,
		`name="evil\\x1b]0;pwned\\a\\x1b[2J\\nFAKE LINE\\u202e"`,
		`machine-\\xff\\xfe\\x1b[2Jevil.scope`,
		`quell_container_memory_usage_bytes{container="` + a.ID[:12] + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.ContainsAny(body, "\x1b\x07") || !utf8.ValidString(body) || strings.Contains(body, strings.Repeat("A", 1000)) {
		t.Errorf("/metrics carries a control byte, invalid UTF-8 or the 1 MiB label")
	}
}
