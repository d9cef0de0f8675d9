package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
)

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"tpo"},
		{"--nope"},
		{"top", "--sort", "size"},
		{"top", "--interval", "1ms"},
		{"top", "--no-such-flag"},
		{"explain"},
		{"explain", "a", "b"},
		{"release"},
		{"policy"},
		{"policy", "lint"},
		{"config"},
		{"config", "lint"},
		{"config", "check", "a.toml", "b.toml"},
		{"status", "extra"},
		{"events", "--limit", "0"},
	} {
		r := run(t, nil, Options{}, append(args, "--socket", sock)...)
		if r.code != ExitUsage {
			t.Errorf("quell %q: exit %d, want 2; stderr %q", args, r.code, r.stderr)
		}
		if r.stderr == "" {
			t.Errorf("quell %q: nothing on stderr", args)
		}
	}
	if r := run(t, nil, Options{}, "tpo"); !strings.Contains(r.stderr, "did you mean top") {
		t.Errorf("typo suggestion missing: %q", r.stderr)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		for _, h := range []string{"--help", "-h"} {
			r := run(t, nil, Options{}, c.name, h)
			if r.code != ExitOK || !strings.Contains(r.stdout, "Usage: quell "+c.name) || !strings.Contains(r.stdout, "Examples:\n  ") {
				t.Errorf("quell %s %s: exit %d, stdout:\n%s", c.name, h, r.code, r.stdout)
			}
		}
	}
	if r := run(t, nil, Options{}, "help", "top"); r.code != 0 || !strings.Contains(r.stdout, "--containers") {
		t.Errorf("quell help top: %d %q", r.code, r.stdout)
	}
	if r := run(t, nil, Options{}, "--help"); r.code != 0 || !strings.Contains(r.stdout, "policy") {
		t.Errorf("quell --help: %d %q", r.code, r.stdout)
	}
}

func TestTopOnce(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	r := run(t, nil, Options{}, "top", "--once", "--socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	// Header, status line, blank, table header, then tenants by CPU: ci (3.5) before acme (1.25),
	// then the unassigned group.
	if !strings.HasPrefix(lines[3], "TENANT") {
		t.Fatalf("no table header:\n%s", r.stdout)
	}
	wantRows := [][]string{
		{"ci", "1", "3.5/-", "48%", "512MiB/-", "0B/-", "0B/s", "45MB/s", "300/-", "0bit/s", "0bit/s", "0B/-", "61/0/0", "throttle", "9b8c7d6e5f4a", "at", "11:59:00"},
		{"acme", "2", "1.2/2.5", "2%", "3GiB/4GiB", "1MiB/1GiB", "3.1MB/s", "250KB/s", "142/4096", "8Mbit/s", "120Mbit/s", "2GiB/20GiB", "3/0/1"},
		{"(no", "tenant)", "1", "0.5/-", "0%", "256MiB/-"},
	}
	for i, want := range wantRows {
		got := strings.Fields(lines[4+i])
		if len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
			t.Errorf("row %d:\n got %q\nwant %q", i, got, want)
		}
	}
	if !strings.Contains(lines[0], "8 CPUs") || !strings.Contains(lines[0], "cpu 42.5 mem 0.4 io 1.2") {
		t.Errorf("header: %q", lines[0])
	}
	if strings.Contains(r.stdout, "acme-web") {
		t.Error("containers shown without -c")
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("ANSI escapes when stdout is not a terminal")
	}
}

func TestTopContainersSortedByMem(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	r := run(t, nil, Options{}, "top", "--once", "-c", "--sort", "mem", "--socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var order []string
	for _, l := range strings.Split(r.stdout, "\n")[4:] {
		if f := strings.Fields(l); len(f) > 0 {
			order = append(order, f[0])
		}
	}
	// acme (3GiB) then its containers by memory (db 2GiB, web 1GiB), then ci, then the unassigned.
	want := "acme acme-db acme-web ci ci-job-17 (no build-runner-1"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order = %q, want %q\n%s", got, want, r.stdout)
	}
	if !strings.Contains(r.stdout, "throttle x0.5 by cpu-contention until") {
		t.Errorf("penalty missing from the container row:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "2/-") || !strings.Contains(r.stdout, "1/2") {
		t.Errorf("container CPU limits from cpu.max missing:\n%s", r.stdout)
	}
}

func TestTopSortByName(t *testing.T) {
	t.Parallel()
	out := renderTop(fixtureView(), topOpts{sortBy: "name"}, false, 0)
	if strings.Index(out, "\nacme ") > strings.Index(out, "\nci ") {
		t.Errorf("name sort: acme should come before ci:\n%s", out)
	}
}

func TestTopJSONRoundTrip(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	r := run(t, nil, Options{}, "--json", "top", "--once", "--socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var v view.View
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	want := fixtureView()
	if len(v.Tenants) != 2 || v.Tenants[0].Limits != want.Tenants[0].Limits || v.Tenants[1].Usage.CPUs != 3.5 ||
		len(v.Containers) != 4 || v.Containers[2].Penalty == nil || !v.Time.Equal(want.Time) {
		t.Errorf("round trip lost data: %+v", v)
	}
}

func TestTopLiveUsesAlternateScreen(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	r := run(t, ctx, Options{IsTerminal: func(io.Writer) (bool, int) { return true, 60 }}, "top", "--interval", "100ms", "--socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, altScreenOn) || !strings.HasSuffix(r.stdout, altScreenOff) {
		t.Errorf("not wrapped in the alternate screen: %q…%q", r.stdout[:min(20, len(r.stdout))], r.stdout[max(0, len(r.stdout)-20):])
	}
	if n := strings.Count(r.stdout, home); n < 2 {
		t.Errorf("%d frames in 1.2s at 100ms, want several", n)
	}
	// Each frame starts at home; its last line has no newline.
	for _, frame := range strings.Split(r.stdout, home) {
		for _, l := range strings.Split(frame, "\n") {
			plain := strings.NewReplacer(altScreenOn, "", altScreenOff, "", clearEOL, "", clearEOS, "").Replace(l)
			if len([]rune(plain)) > 60 {
				t.Errorf("line wider than the 60-column terminal: %q", plain)
			}
		}
	}
}

func TestFallbackToCgroupfs(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "absent.sock")
	src := fixtureSource()
	src.ViewValue.Source = "cgroupfs"
	local := func(context.Context) (api.Source, error) { return src, nil }
	for _, cmd := range [][]string{{"top", "--once"}, {"status"}, {"tenants"}, {"containers"}, {"explain", webID[:12]}, {"plan"}} {
		r := run(t, nil, Options{Local: local}, append(cmd, "--socket", sock)...)
		if r.code != 0 {
			t.Errorf("quell %s: exit %d: %s", cmd[0], r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, directNote) {
			t.Errorf("quell %s: output does not say it read cgroupfs directly:\n%s", cmd[0], r.stdout)
		}
		if !strings.Contains(r.stderr, "is quelld running? (systemctl status quelld)") || !strings.Contains(r.stderr, sock) {
			t.Errorf("quell %s: stderr %q", cmd[0], r.stderr)
		}
	}
	// Without a local reader, say quelld is required.
	r := run(t, nil, Options{}, "top", "--once", "--socket", sock)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "quelld is required") {
		t.Errorf("no local reader: exit %d, %q", r.code, r.stderr)
	}
	// A local reader that fails says so.
	r = run(t, nil, Options{Local: func(context.Context) (api.Source, error) { return nil, errors.New("cgroup2 not mounted") }}, "status", "--socket", sock)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "cgroup2 not mounted") {
		t.Errorf("failing local reader: exit %d, %q", r.code, r.stderr)
	}
	// Changes need the daemon.
	r = run(t, nil, Options{Local: local}, "reload", "--socket", sock)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "reload needs quelld") {
		t.Errorf("reload without quelld: exit %d, %q", r.code, r.stderr)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	src := fixtureSource()
	sock := serve(t, src)
	r := run(t, nil, Options{}, "status", "--socket", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "policy:     ok: 1 file, 2 tenants") || !strings.Contains(r.stdout, "57 cgroups, 4 containers, 2 tenants, 1 penalties") {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	src.Lock()
	src.ViewValue.Policy.Valid = false
	src.ViewValue.Policy.Errors = []string{"policy.d/20-ci.toml:4:1: tenant \"ci\": limits.cpus must be > 0"}
	src.Unlock()
	r = run(t, nil, Options{}, "status", "--socket", sock)
	if r.code != ExitFailure || !strings.Contains(r.stdout, "INVALID") || !strings.Contains(r.stdout, "20-ci.toml:4:1") {
		t.Errorf("invalid policy: exit %d:\n%s", r.code, r.stdout)
	}
}

func TestTenantsAndContainers(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	r := run(t, nil, Options{}, "tenants", "--socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "acme guaranteed slice 2 2.5 4GiB 1GiB 4096 100Mbit/s 200Mbit/s 20GiB -" {
		t.Errorf("acme row = %q", got)
	}
	r = run(t, nil, Options{}, "containers", "--tenant", "acme", "--socket", sock)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || !strings.Contains(r.stdout, "3f2a1b4c5d6e  acme-web") {
		t.Errorf("containers --tenant acme: exit %d:\n%s", r.code, r.stdout)
	}
	r = run(t, nil, Options{}, "containers", "--json", "--socket", sock)
	var cs []view.ContainerView
	if err := json.Unmarshal([]byte(r.stdout), &cs); err != nil || len(cs) != 4 {
		t.Errorf("containers --json: %v, %d", err, len(cs))
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	r := run(t, nil, Options{}, "explain", "/system.slice/docker-"+webID+".scope", "--socket", sock)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"Container 3f2a1b4c5d6e (acme-web), runtime docker",
		"acme (class guaranteed, mode slice).",
		`Why: tenant "acme" (policy.d/10-tenants.toml:12)`,
		"Docker container store",
		"cpu.max: max 100000 → 200000 100000\n    because tenant acme container.cpus = 2 (policy.d/10-tenants.toml:30)",
		"memory.max: max → 4294967296",
		`rule "cpu-contention" (targets best-effort, burstable) cannot target it`,
		"limit acme 3f2a1b4c5d6e: max 100000 → 200000 100000: tenant acme container.cpus = 2",
		"labels: com.example.team=web",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, nil, Options{}, "explain", "deadbeef", "--socket", sock)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "quell containers") {
		t.Errorf("unknown container: exit %d, %q", r.code, r.stderr)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	src := fixtureSource()
	sock := serve(t, src)
	r := run(t, nil, Options{}, "events", "--socket", sock)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, "throttle ci 9b8c7d6e5f4a (rule cpu-contention): 200000 100000 → 100000 100000") {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, Options{}, "events", "--since", "1", "--json", "--socket", sock)
	var ev view.Event
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil || ev.Seq != 2 {
		t.Errorf("--since 1 --json: %v %+v\n%s", err, ev, r.stdout)
	}
	r = run(t, nil, Options{}, "events", "-n", "1", "--socket", sock)
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), "2 ") {
		t.Errorf("-n 1 should show only the last event:\n%s", r.stdout)
	}
}

func TestEventsFollow(t *testing.T) {
	t.Parallel()
	src := fixtureSource()
	sock := serve(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(150 * time.Millisecond)
		src.Append(view.Event{Time: at, Kind: "freeze", Tenant: "ci", Target: jobID, Reason: "memory pressure"})
		time.Sleep(150 * time.Millisecond)
		cancel()
	}()
	r := run(t, ctx, Options{}, "events", "--follow", "--socket", sock)
	if r.code != 0 || !strings.Contains(r.stdout, "     3  ") || !strings.Contains(r.stdout, "freeze ci 9b8c7d6e5f4a: memory pressure") {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	r := run(t, nil, Options{}, "plan", "--socket", sock)
	want := "quell.slice/quell-acme.slice (tenant acme)\n" +
		"   cpu.max     max 100000  →  250000 100000  tenant acme limits.cpus = 2.5\n" +
		"   memory.max  max         →  4294967296     tenant acme limits.memory = 4GiB\n" +
		"2 changes in 1 cgroups; nothing was written\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d:\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
}

func TestReleaseAndReload(t *testing.T) {
	t.Parallel()
	src := fixtureSource()
	sock := serve(t, src)
	if r := run(t, nil, Options{}, "release", jobID[:12], "--socket", sock); r.code != 0 || !strings.Contains(r.stdout, "released") {
		t.Errorf("release: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, Options{}, "release", "ffff", "--socket", sock); r.code != ExitFailure || !strings.Contains(r.stderr, "quell status") {
		t.Errorf("release unknown: %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, Options{}, "reload", "--socket", sock); r.code != 0 {
		t.Errorf("reload: %d %q", r.code, r.stderr)
	}
	src.Lock()
	src.ReloadErr = errors.New("policy.d/20-ci.toml:4:1: bad")
	src.Unlock()
	if r := run(t, nil, Options{}, "reload", "--socket", sock); r.code != ExitFailure || !strings.Contains(r.stderr, "20-ci.toml:4:1") || !strings.Contains(r.stderr, "last good policy") {
		t.Errorf("failed reload: %d %q", r.code, r.stderr)
	}
	src.Lock()
	defer src.Unlock()
	if src.Reloads != 2 || len(src.Released) != 1 || src.Released[0] != jobID {
		t.Errorf("reloads %d released %v", src.Reloads, src.Released)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	sock := serve(t, fixtureSource())
	r := run(t, nil, Options{Version: "1.0.0"}, "version", "--socket", sock)
	if r.code != 0 || r.stdout != "quell  1.0.0\nquelld 0.9.0\n" {
		t.Errorf("%d %q", r.code, r.stdout)
	}
	r = run(t, nil, Options{Version: "1.0.0"}, "--version", "--socket", filepath.Join(t.TempDir(), "x.sock"))
	if r.code != 0 || !strings.Contains(r.stdout, "quelld not reachable") {
		t.Errorf("%d %q", r.code, r.stdout)
	}
	stamped := Options{Version: "v1.2.0-3-g0123abc", Commit: "0123abc4567890"}
	r = run(t, nil, stamped, "version", "--socket", sock)
	if r.code != 0 || r.stdout != "quell  v1.2.0-3-g0123abc (commit 0123abc4567890)\nquelld 0.9.0\n" {
		t.Errorf("stamped: %d %q", r.code, r.stdout)
	}
	r = run(t, nil, stamped, "version", "--json", "--socket", sock)
	var js map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &js); r.code != 0 || err != nil ||
		js["quell"] != "v1.2.0-3-g0123abc" || js["commit"] != "0123abc4567890" || js["quelld"] != "0.9.0" {
		t.Errorf("version --json: %d %q", r.code, r.stdout)
	}
}

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := `version = 1
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.limits]
  cpus = 1
  memory = "1GiB"
`
	bad := `version = 1
[[tenant]]
name = "ci"
  [tenant.match]
  names = ["ci-*"]
  [tenant.limits]
  memory = "1GiB"
  memory_high = "2GiB"
  pidz = 10
`
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10-acme.toml", good)
	r := run(t, nil, Options{PolicyDir: dir}, "policy", "check", "--portable")
	if r.code != 0 || !strings.Contains(r.stdout, ": ok: 1 file, 1 tenant") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("valid policy: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	write("20-ci.toml", bad)
	r = run(t, nil, Options{PolicyDir: dir}, "policy", "check", "--portable")
	if r.code != ExitFailure {
		t.Errorf("invalid policy: exit %d, want 1", r.code)
	}
	badFile := filepath.Join(dir, "20-ci.toml")
	for _, want := range []string{badFile + ":8:", badFile + ":9:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, nil, Options{}, "policy", "check", "--json", "--portable", badFile)
	var res []finding
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res) < 2 || r.code != ExitFailure {
		t.Errorf("--json: %v %+v exit %d", err, res, r.code)
	}
}
