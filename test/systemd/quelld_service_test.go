//go:build lab

package systemd_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/systemd"
	"github.com/quell-dev/quell/test/labkit"
)

// These tests install the shipped quelld.service with the real quelld
// (the lab's /lab/bin/quelld) and drive it the way an operator does.

const (
	labPolicyDir  = "/etc/quell/lab-policy.d"
	labPolicyFile = labPolicyDir + "/10-lab.toml"
	quelldSocket  = "/run/quell/quelld.sock"
)

const servicePolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  cpus = 0.333
  memory = "64MiB"
  pids = 64
`

// installQuelld installs quelld.service as /etc/systemd/system/quelld.service
// with a drop-in pointing ExecStart at the lab's quelld and --policy at a
// test policy, creates group quell, and starts it (systemctl start returns
// after READY=1). extra are more [Service] lines for the drop-in.
// Everything is removed at cleanup.
func installQuelld(t *testing.T, policy string, extra ...string) {
	t.Helper()
	// systemd trims the root's subtree_control to what its units need
	// (after a scope with CPUQuota goes, cpu and io go too); the tests and
	// quelld's cgroupfs writes need them, so ask systemd to keep them.
	_, _ = run(t, "systemctl", "set-property", "--runtime", "system.slice",
		"CPUAccounting=yes", "IOAccounting=yes", "MemoryAccounting=yes", "TasksAccounting=yes")
	_ = os.WriteFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"), []byte("+cpu +io +memory +pids"), 0)
	labkit.Require(t)
	exe, err := exec.LookPath("quelld")
	if err != nil {
		t.Fatalf("quelld not on PATH: %v", err)
	}
	if _, err := run(t, "getent", "group", "quell"); err != nil {
		mustRun(t, "groupadd", "--system", "quell")
	}
	unitPath := filepath.Join("/etc/systemd/system", systemd.UnitName)
	dropIn := unitPath + ".d/lab.conf"
	must(t, os.MkdirAll(filepath.Dir(dropIn), 0o755))
	must(t, os.MkdirAll(labPolicyDir, 0o755))
	must(t, os.WriteFile(unitPath, systemd.UnitFile, 0o644))
	lab := fmt.Sprintf("[Service]\nExecStart=\nExecStart=%s --policy %s\n", exe, labPolicyDir)
	for _, e := range extra {
		lab += e + "\n"
	}
	must(t, os.WriteFile(dropIn, []byte(lab), 0o644))
	writePolicy(t, policy)
	t.Cleanup(func() {
		if t.Failed() {
			j, _ := run(t, "journalctl", "--no-pager", "-o", "cat", "-n", "60", "-u", systemd.UnitName)
			t.Logf("quelld journal tail:\n%s", j)
		}
		_, _ = run(t, "systemctl", "stop", systemd.UnitName)
		_, _ = run(t, "systemctl", "reset-failed", systemd.UnitName)
		_ = os.RemoveAll(filepath.Dir(dropIn))
		_ = os.Remove(unitPath)
		_ = os.RemoveAll(labPolicyDir)
		_ = os.RemoveAll("/var/lib/quell")
		_, _ = run(t, "systemctl", "daemon-reload")
	})
	daemonReload(t)
	if out, err := run(t, "systemctl", "start", systemd.UnitName); err != nil {
		st, _ := run(t, "systemctl", "status", "--no-pager", "-l", systemd.UnitName)
		t.Fatalf("systemctl start quelld: %v\n%s\n%s", err, out, st)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writePolicy(t *testing.T, policy string) {
	t.Helper()
	must(t, os.WriteFile(labPolicyFile, []byte(policy), 0o644))
}

// quell runs the CLI as root; it returns stdout+stderr and the exit code.
func quell(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return quellAs(t, "", args...)
}

// quellAs runs the CLI as user (root when ""), with the user's groups.
func quellAs(t *testing.T, user string, args ...string) (string, int) {
	t.Helper()
	argv := append([]string{"quell", "--socket", quelldSocket}, args...)
	if user != "" {
		argv = append([]string{"setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return string(out), code
}

func topJSON(t *testing.T) view.View {
	t.Helper()
	out, code := quell(t, "top", "--once", "--json")
	var v view.View
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("quell top --once --json: exit %d\n%s", code, out)
	}
	return v
}

// waitCgroup waits until cg's file reads want.
func waitCgroup(t *testing.T, cg, file, want string, within time.Duration) {
	t.Helper()
	got := ""
	if !waitFor(within, func() bool { got = readCgroup(t, cg, file); return got == want }) {
		t.Fatalf("%s/%s = %q after %v, want %q", cg, file, got, within, want)
	}
}

func acmeContainer(t *testing.T, name string, args ...string) (cg string) {
	t.Helper()
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: name, Args: args})
	cg = strings.TrimPrefix(c.Cgroup, "/")
	if !strings.HasPrefix(cg, "system.slice/docker-") || !strings.HasSuffix(cg, ".scope") {
		t.Fatalf("container cgroup %q is not a Docker scope", cg)
	}
	return cg
}

// acme's caps as quelld writes them and as systemd keeps them.
func acmeWant() (exact, viaSystemd map[string]string) {
	exact = map[string]string{"cpu.max": "33300 100000", "memory.max": "67108864", "pids.max": "64"}
	viaSystemd = map[string]string{"cpu.max": fmt.Sprintf("%d 100000", systemd.EffectiveCPUQuota(33300, 100000)),
		"memory.max": "67108864", "pids.max": "64"}
	return
}

// 1. The unit starts and reaches READY; a Docker-style container (a real
// transient scope) gets its tenant's caps; `systemctl daemon-reload` keeps
// them, because quelld set them on the scope through systemd.
func TestQuelldServiceLimitsSurviveDaemonReload(t *testing.T) {
	// quelld is SIGSTOPped across a daemon-reload below: a watchdog longer
	// than a slow reload on a loaded TCG guest.
	installQuelld(t, servicePolicy, "WatchdogSec=300s")
	if got := unitProp(t, systemd.UnitName, "ActiveState") + "/" + unitProp(t, systemd.UnitName, "SubState"); got != "active/running" {
		t.Fatalf("quelld.service = %s, want active/running", got)
	}
	status := unitProp(t, systemd.UnitName, "StatusText")
	if !strings.Contains(status, "containers watched") || !strings.Contains(status, "policy") {
		t.Errorf("StatusText = %q, want quelld's ready status (… containers watched; policy …)", status)
	}
	t.Logf("FIGURE systemd StatusText=%q", status)
	// lock_memory works inside the unit's sandbox (CAP_IPC_LOCK).
	mainPID := unitProp(t, systemd.UnitName, "MainPID")
	lck, rss := procStatus(t, mainPID, "VmLck"), procStatus(t, mainPID, "VmRSS")
	t.Logf("FIGURE systemd quelld VmLck=%s VmRSS=%s", lck, rss)
	if lck == "" || strings.HasPrefix(lck, "0 ") {
		journal, _ := run(t, "journalctl", "--no-pager", "-u", systemd.UnitName)
		t.Errorf("quelld's memory is not locked under the unit (VmLck %q):\n%s", lck, journal)
	}
	cg := acmeContainer(t, "acme-web")
	unit := filepath.Base(cg)
	// A sibling outside every tenant shows a fresh scope's values (the
	// originals quell must give back).
	other := acmeContainer(t, "other-web")
	orig := map[string]string{}
	for _, f := range []string{"cpu.max", "memory.max", "pids.max"} {
		orig[f] = readCgroup(t, other, f)
	}
	exact, viaSystemd := acmeWant()
	start := time.Now()
	for f, w := range exact {
		waitCgroup(t, cg, f, w, 10*time.Second)
	}
	t.Logf("FIGURE systemd container-limited-after %v", time.Since(start))

	// systemd holds the values as unit properties.
	for prop, want := range map[string]string{"MemoryMax": "67108864", "TasksMax": "64",
		"CPUQuotaPerSecUSec": fmt.Sprintf("%dms", systemd.EffectiveCPUQuota(33300, 100000)*10/1000)} {
		if got := unitProp(t, unit, prop); got != want {
			t.Errorf("%s %s = %q, want %q (set by quelld through D-Bus)", unit, prop, got, want)
		}
	}
	// daemon-reload with quelld stopped in its tracks (SIGSTOP), so what
	// is read is what systemd left, not quelld's next write.
	pid := unitProp(t, systemd.UnitName, "MainPID")
	mustRun(t, "kill", "-STOP", pid)
	daemonReload(t)
	time.Sleep(500 * time.Millisecond)
	got := map[string]string{}
	for f := range viaSystemd {
		got[f] = readCgroup(t, cg, f)
	}
	mustRun(t, "kill", "-CONT", pid)
	for f, w := range viaSystemd {
		if got[f] != w {
			t.Errorf("after daemon-reload %s = %q, want %q (systemd's value of quelld's limit; quelld wrote %q)", f, got[f], w, exact[f])
		}
	}
	t.Logf("FIGURE systemd after-daemon-reload cpu.max=%q (quelld writes %q; systemd 10ms rounding) memory.max=%q pids.max=%q",
		got["cpu.max"], exact["cpu.max"], got["memory.max"], got["pids.max"])
	for f, w := range exact {
		waitCgroup(t, cg, f, w, 10*time.Second)
	}
	if got := unitProp(t, systemd.UnitName, "ActiveState"); got != "active" {
		t.Errorf("quelld after a SIGSTOP/daemon-reload/SIGCONT: %s, want active", got)
	}

	// The tenant leaves the policy: originals back, and a daemon-reload
	// must not bring quell's limits back from the unit's properties.
	writePolicy(t, strings.Replace(servicePolicy, `"acme-*"`, `"nobody-*"`, 1))
	mustRun(t, "systemctl", "reload", systemd.UnitName)
	waitCgroup(t, cg, "pids.max", orig["pids.max"], 10*time.Second)
	waitCgroup(t, cg, "memory.max", orig["memory.max"], 10*time.Second)
	daemonReload(t)
	time.Sleep(time.Second)
	for f, w := range orig {
		if got := readCgroup(t, cg, f); got != w {
			t.Errorf("tenant removed, then daemon-reload: %s = %q, want the original %q (restore must go through systemd too)", f, got, w)
		}
	}
}

// 2. `systemctl reload quelld` re-reads the policy: a changed limit is
// applied; an invalid policy leaves the last good one in force, and
// `quell status` shows the errors and exits 1.
func TestQuelldServiceReload(t *testing.T) {
	installQuelld(t, servicePolicy)
	cg := acmeContainer(t, "acme-api")
	waitCgroup(t, cg, "pids.max", "64", 10*time.Second)

	writePolicy(t, strings.Replace(servicePolicy, "pids = 64", "pids = 48", 1))
	mustRun(t, "systemctl", "reload", systemd.UnitName)
	waitCgroup(t, cg, "pids.max", "48", 10*time.Second)
	if got := unitProp(t, filepath.Base(cg), "TasksMax"); got != "48" {
		t.Errorf("scope TasksMax after reload = %q, want 48", got)
	}

	writePolicy(t, strings.Replace(servicePolicy, "pids = 64", "pids = 32\n  cpus_typo = 1", 1))
	mustRun(t, "systemctl", "reload", systemd.UnitName)
	var out string
	var code int
	if !waitFor(10*time.Second, func() bool { out, code = quell(t, "status"); return code == 1 }) {
		t.Fatalf("quell status after an invalid reload: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "INVALID") || !strings.Contains(out, "10-lab.toml") {
		t.Errorf("quell status does not show the policy errors (INVALID, file name):\n%s", out)
	}
	t.Logf("quell status after an invalid policy:\n%s", out)
	time.Sleep(3 * time.Second)
	if got := readCgroup(t, cg, "pids.max"); got != "48" {
		t.Errorf("after an invalid policy pids.max = %q, want the last good 48", got)
	}
	if got := unitProp(t, systemd.UnitName, "ActiveState"); got != "active" {
		t.Errorf("after an invalid reload quelld is %s, want active", got)
	}
}

// 3. A hung loop (the test hook of a quelld built with -tags lab, as
// make build builds the lab's) stops feeding the watchdog: systemd kills
// quelld (Result=watchdog) and restarts it; the limits stay.
func TestQuelldServiceWatchdogRestartsHungLoop(t *testing.T) {
	installQuelld(t, servicePolicy, "Environment=QUELL_TEST_HANG_AFTER=25s")
	cg := acmeContainer(t, "acme-hang")
	exact, _ := acmeWant()
	for f, w := range exact {
		waitCgroup(t, cg, f, w, 10*time.Second)
	}
	start := time.Now()
	n := 0
	if !waitFor(90*time.Second, func() bool {
		n, _ = strconv.Atoi(unitProp(t, systemd.UnitName, "NRestarts"))
		return n >= 1
	}) {
		t.Fatalf("NRestarts = %d after 90 s with a hung loop; want ≥ 1 (ActiveState %s, Result %s)", n,
			unitProp(t, systemd.UnitName, "ActiveState"), unitProp(t, systemd.UnitName, "Result"))
	}
	t.Logf("FIGURE systemd watchdog-restart-after %v (hang 25 s after start, WatchdogSec=10s)", time.Since(start))
	j := mustRun(t, "journalctl", "--no-pager", "-o", "cat", "-u", systemd.UnitName)
	if !strings.Contains(j, "Watchdog timeout") || !strings.Contains(j, "Failed with result 'watchdog'") {
		t.Errorf("journal has no watchdog kill (Watchdog timeout / Failed with result 'watchdog'):\n%s", tail(j, 30))
	}
	if !waitFor(30*time.Second, func() bool {
		return unitProp(t, systemd.UnitName, "ActiveState") == "active" && unitProp(t, systemd.UnitName, "SubState") == "running"
	}) {
		t.Fatalf("quelld not active/running again after the watchdog restart")
	}
	for f, w := range exact {
		if got := readCgroup(t, cg, f); got != w {
			t.Errorf("after the watchdog restart %s = %q, want %q", f, got, w)
		}
	}
}

const freezePolicy = servicePolicy + `
[[rule]]
name = "always"
when = { signal = "host.memory.available", above = 0.0, for = "1s" }
target = { classes = ["burstable"], rank = "cpu" }
ladder = [{ action = "freeze", for = "300s" }]
cooldown = "300s"
`

// 4. `systemctl stop quelld` stops cleanly and leaves no cgroup frozen,
// even with a freeze penalty in force.
func TestQuelldServiceStopLeavesNothingFrozen(t *testing.T) {
	installQuelld(t, freezePolicy)
	cg := acmeContainer(t, "acme-frozen", "sh", "-c", "while :; do :; done")
	waitCgroup(t, cg, "cgroup.freeze", "1", 30*time.Second)
	v := topJSON(t)
	if len(v.Penalties) == 0 {
		t.Errorf("a container is frozen but quell shows no penalty")
	}
	mustRun(t, "systemctl", "stop", systemd.UnitName)
	if got := unitProp(t, systemd.UnitName, "Result"); got != "success" {
		t.Errorf("after stop: Result = %q, want success", got)
	}
	var frozen []string
	_ = filepath.Walk(cgroupRoot, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(filepath.Join(p, "cgroup.freeze")); err == nil && strings.TrimSpace(string(b)) != "0" {
			frozen = append(frozen, p)
		}
		return nil
	})
	if len(frozen) > 0 {
		t.Errorf("after systemctl stop quelld, frozen cgroups: %v", frozen)
	}
}

// 5. Authorisation by peer credentials: a user outside group quell is
// refused with a message saying what to do; a member reads but may not
// release.
func TestQuelldServiceAPIAuthorisation(t *testing.T) {
	installQuelld(t, servicePolicy)
	for _, u := range []string{"lab-outsider", "lab-reader"} {
		_, _ = run(t, "userdel", u)
	}
	mustRun(t, "useradd", "--no-create-home", "--user-group", "lab-outsider")
	mustRun(t, "useradd", "--no-create-home", "--user-group", "--groups", "quell", "lab-reader")
	t.Cleanup(func() { _, _ = run(t, "userdel", "lab-outsider"); _, _ = run(t, "userdel", "lab-reader") })
	acmeContainer(t, "acme-auth")

	out, code := quellAs(t, "lab-outsider", "status")
	t.Logf("outsider: quell status → exit %d:\n%s", code, out)
	if code != 1 || !strings.Contains(out, "permission denied") || !strings.Contains(out, "quell") {
		t.Errorf("outsider quell status: exit %d, want 1 with a permission-denied message naming group quell:\n%s", code, out)
	}
	// Past the socket's file mode, the peer-credential check refuses too.
	mustRun(t, "chmod", "0666", quelldSocket)
	out, code = quellAs(t, "lab-outsider", "status")
	mustRun(t, "chmod", "0660", quelldSocket)
	t.Logf("outsider, socket opened to all: quell status → exit %d:\n%s", code, out)
	if code != 1 || !strings.Contains(out, "refused") || !strings.Contains(out, "not in group quell") {
		t.Errorf("outsider with a world-writable socket: exit %d, want 1 with quelld's 403 (not in group quell):\n%s", code, out)
	}

	out, code = quellAs(t, "lab-reader", "top", "--once", "--json")
	var v view.View
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Source != "quelld" {
		t.Errorf("group member quell top --once --json: exit %d source %q, want 0 from quelld:\n%s", code, v.Source, out)
	}
	out, code = quellAs(t, "lab-reader", "release", "acme-auth")
	t.Logf("reader: quell release → exit %d:\n%s", code, out)
	if code != 1 || !strings.Contains(out, "only root") {
		t.Errorf("group member quell release: exit %d, want 1 with 'only root may change':\n%s", code, out)
	}
}

// 7. `quell top --once --json` lists each tenant with numbers matching
// cgroupfs: CPU from cpu.stat over a window, memory.current, pids.current.
func TestQuelldServiceTopMatchesCgroupfs(t *testing.T) {
	installQuelld(t, servicePolicy)
	cgs := []string{acmeContainer(t, "acme-busy", "sh", "-c", "while :; do :; done"),
		acmeContainer(t, "acme-idle", "sh", "-c", "sleep 3600 & sleep 3600 & wait")}
	for _, cg := range cgs {
		waitCgroup(t, cg, "pids.max", "64", 10*time.Second)
	}
	time.Sleep(3 * time.Second)
	usage := func() (total time.Duration) {
		for _, cg := range cgs {
			u, err := labkit.CPUUsage(filepath.Join(cgroupRoot, cg))
			must(t, err)
			total += u
		}
		return total
	}
	var cpuSum float64
	var tops int
	u0, t0 := usage(), time.Now()
	deadline := t0.Add(8 * time.Second)
	var v view.View
	for time.Now().Before(deadline) {
		v = topJSON(t)
		for _, tv := range v.Tenants {
			if tv.Name == "acme" {
				cpuSum += tv.Usage.CPUs
				tops++
			}
		}
		time.Sleep(time.Second)
	}
	cpus := (usage() - u0).Seconds() / time.Since(t0).Seconds()
	var mem, pids int64
	for _, cg := range cgs {
		m, _ := strconv.ParseInt(readCgroup(t, cg, "memory.current"), 10, 64)
		p, _ := strconv.ParseInt(readCgroup(t, cg, "pids.current"), 10, 64)
		mem, pids = mem+m, pids+p
	}
	var acme *view.TenantView
	for i := range v.Tenants {
		if v.Tenants[i].Name == "acme" {
			acme = &v.Tenants[i]
		}
	}
	if acme == nil || tops == 0 {
		t.Fatalf("quell top --once --json lists no tenant acme: %+v", v.Tenants)
	}
	avg := cpuSum / float64(tops)
	t.Logf("FIGURE systemd top acme cpus quell=%.3f cgroupfs=%.3f memory quell=%d cgroupfs=%d pids quell=%d cgroupfs=%d containers=%d",
		avg, cpus, acme.Usage.MemoryBytes, mem, acme.Usage.Pids, pids, acme.Containers)
	if acme.Containers != 2 {
		t.Errorf("acme containers = %d, want 2", acme.Containers)
	}
	if math.Abs(avg-cpus) > 0.1*cpus+0.02 {
		t.Errorf("acme CPUs: quell top %.3f, cgroupfs %.3f over the same window; want within 10%%", avg, cpus)
	}
	if math.Abs(float64(acme.Usage.MemoryBytes-mem)) > 0.1*float64(mem)+512*1024 {
		t.Errorf("acme memory: quell top %d, cgroupfs memory.current %d", acme.Usage.MemoryBytes, mem)
	}
	if acme.Usage.Pids != pids {
		t.Errorf("acme pids: quell top %d, cgroupfs pids.current %d", acme.Usage.Pids, pids)
	}
	screen, code := quell(t, "top", "--once", "-c")
	if code != 0 {
		t.Errorf("quell top --once -c: exit %d", code)
	}
	t.Logf("quell top --once -c in the lab (systemd mode):\n%s", screen)
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
