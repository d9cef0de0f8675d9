//go:build lab

package systemd_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/systemd"
	"github.com/quell-dev/quell/test/labkit"
)

// The .deb that `make deb` built on the host, read from the lab's bin/
// share like every other project binary (bin/deb/ → /lab/bin/deb/).
func labDeb(t *testing.T) string {
	t.Helper()
	debs, _ := filepath.Glob(filepath.Join(os.Getenv("QUELL_LAB_BIN"), "deb", "quell_*_amd64.deb"))
	if len(debs) != 1 {
		t.Fatalf("want exactly one bin/deb/quell_*_amd64.deb (run make deb on the host), got %q", debs)
	}
	return debs[0]
}

// dpkg runs dpkg with a deadline long enough for its triggers (man-db)
// under emulation.
func dpkg(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dpkg", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.WaitDelay = 10 * time.Second // a maintainer script's child must not hold the output open
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

const debPolicyFile = "/etc/quell/policy.d/10-lab.toml"

// The operator's path with the package: dpkg -i installs everything where
// Debian keeps it and starts nothing; systemctl start quelld enforces a
// policy on a container; an upgrade keeps edits and restarts quelld;
// dpkg --purge puts the container's values back and leaves none of the
// package's files, and no state, behind.
func TestDebInstallStartEnforcePurge(t *testing.T) {
	// As installQuelld, before Require checks them: keep the root's
	// controllers that systemd trims when earlier tests' scopes go.
	_, _ = run(t, "systemctl", "set-property", "--runtime", "system.slice",
		"CPUAccounting=yes", "IOAccounting=yes", "MemoryAccounting=yes", "TasksAccounting=yes")
	_ = os.WriteFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"), []byte("+cpu +io +memory +pids"), 0)
	labkit.Require(t)
	deb := labDeb(t)
	// man-db's dpkg trigger re-indexes every man page on the host root,
	// which the guest reads over 9p: more than 10 minutes under emulation.
	// Debian's own switch turns it off (in the guest's throwaway overlay).
	_ = os.Remove("/var/lib/man-db/auto-update")
	// quelld.service's ConfigurationDirectory=quell leaves an empty
	// /etc/quell behind earlier tests; a file there would be a leak.
	var leftover []string
	_ = filepath.WalkDir("/etc/quell", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			leftover = append(leftover, p)
		}
		return nil
	})
	if len(leftover) > 0 {
		t.Fatalf("before the package is installed /etc/quell holds %q: another test left them", leftover)
	}
	_ = os.RemoveAll("/etc/quell")
	t.Cleanup(func() {
		if out, err := run(t, "dpkg-query", "-W", "quell"); err == nil {
			t.Logf("cleanup: purging quell left installed by a failed test (%s)", out)
			_, _ = dpkg(t, "--purge", "quell")
		}
		_ = os.RemoveAll("/etc/quell")
		_ = os.RemoveAll("/var/lib/quell")
	})

	start := time.Now()
	if out, err := dpkg(t, "-i", deb); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", filepath.Base(deb), err, out)
	}
	t.Logf("FIGURE deb dpkg-i %v (%s)", time.Since(start).Round(100*time.Millisecond), filepath.Base(deb))
	listed := strings.Split(mustRun(t, "dpkg", "-L", "quell"), "\n")
	var files []string
	for _, p := range listed {
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			files = append(files, p)
		}
	}
	t.Logf("FIGURE deb files=%d listed=%d", len(files), len(listed))
	for _, want := range []string{"/usr/bin/quelld", "/usr/bin/quell", "/usr/lib/systemd/system/quelld.service",
		"/usr/lib/sysusers.d/quell.conf", "/etc/quell/quelld.toml", "/etc/quell/policy.d/10-tenants.toml.example",
		"/usr/share/man/man1/quell.1.gz", "/usr/share/man/man8/quelld.8.gz", "/usr/share/man/man5/quell-policy.5.gz",
		"/usr/share/bash-completion/completions/quell", "/usr/share/zsh/vendor-completions/_quell",
		"/usr/share/fish/vendor_completions.d/quell.fish", "/usr/share/doc/quell/copyright"} {
		if !contains(files, want) {
			t.Errorf("dpkg -L quell has no file %s", want)
		}
	}
	conffiles := mustRun(t, "dpkg-query", "-W", "-f=${Conffiles}", "quell")
	for _, c := range []string{"/etc/quell/quelld.toml", "/etc/quell/policy.d/10-tenants.toml.example"} {
		if !strings.Contains(conffiles, c+" ") {
			t.Errorf("%s is not a conffile; conffiles:\n%s", c, conffiles)
		}
	}
	unit, err := os.ReadFile("/usr/lib/systemd/system/quelld.service")
	if err != nil || !regexp.MustCompile(`(?m)^ExecStart=/usr/bin/quelld$`).Match(unit) || strings.Contains(string(unit), "/usr/local") {
		t.Errorf("the packaged unit must run /usr/bin/quelld and name nothing under /usr/local (%v):\n%s", err, unit)
	}
	// Debian 12 merged /lib into /usr/lib: systemd names /lib/systemd/system.
	if got, _ := filepath.EvalSymlinks(unitProp(t, systemd.UnitName, "FragmentPath")); got != "/usr/lib/systemd/system/quelld.service" {
		t.Errorf("systemd loads quelld.service from %q, want /usr/lib/systemd/system/quelld.service (postinst daemon-reload)", got)
	}
	// Installed, not enabled, not started: nothing is enforced before the
	// operator writes a policy.
	if got := unitProp(t, systemd.UnitName, "UnitFileState") + "/" + unitProp(t, systemd.UnitName, "ActiveState"); got != "disabled/inactive" {
		t.Errorf("after dpkg -i quelld.service is %s, want disabled/inactive", got)
	}
	if _, err := run(t, "getent", "group", "quell"); err != nil {
		t.Errorf("postinst did not create group quell (systemd-sysusers)")
	}
	if out, err := run(t, "man", "-w", "quelld"); err != nil || out != "/usr/share/man/man8/quelld.8.gz" {
		t.Errorf("man -w quelld: %v %q", err, out)
	}

	// The versions are the build's, stamped by make.
	ver := mustRun(t, "/usr/bin/quelld", "--version")
	m := regexp.MustCompile(`^quelld (\S+) \(commit ([0-9a-f]{40})\)$`).FindStringSubmatch(ver)
	if m == nil || m[1] == "dev" {
		t.Fatalf("quelld --version = %q, want quelld <git describe> (commit <40 hex>)", ver)
	}
	t.Logf("FIGURE deb %s; package version %s", ver, mustRun(t, "dpkg-query", "-W", "-f=${Version}", "quell"))

	cg := acmeContainer(t, "acme-deb")
	orig := map[string]string{}
	for _, f := range []string{"cpu.max", "memory.max", "pids.max"} {
		orig[f] = readCgroup(t, cg, f)
	}
	must(t, os.WriteFile(debPolicyFile, []byte(servicePolicy), 0o644))
	if out, err := run(t, "systemctl", "start", systemd.UnitName); err != nil {
		st, _ := run(t, "systemctl", "status", "--no-pager", "-l", systemd.UnitName)
		j, _ := run(t, "journalctl", "--no-pager", "-o", "cat", "-n", "40", "-u", systemd.UnitName)
		t.Fatalf("systemctl start quelld: %v\n%s\n%s\n%s", err, out, st, j)
	}
	exact, _ := acmeWant()
	for f, w := range exact {
		waitCgroup(t, cg, f, w, 15*time.Second)
	}
	if got := unitProp(t, systemd.UnitName, "MainPID"); got == "0" {
		t.Fatalf("quelld.service has no main process")
	}
	out := mustRun(t, "/usr/bin/quell", "version", "--json") // not the lab's bin/quell, first on PATH
	var v map[string]string
	if json.Unmarshal([]byte(out), &v) != nil || v["quell"] != m[1] || v["quelld"] != m[1] || v["commit"] != m[2] {
		t.Errorf("quell version --json = %s, want quell and quelld %s, commit %s", out, m[1], m[2])
	}

	// An upgrade (here the same .deb again) keeps the operator's edit of a
	// conffile, restarts the running quelld on the new binary (postinst
	// try-restart; prerm leaves it running), and the limits stay.
	must(t, appendFile("/etc/quell/quelld.toml", "# operator's edit\n"))
	pid := unitProp(t, systemd.UnitName, "MainPID")
	start = time.Now()
	if out, err := dpkg(t, "-i", deb); err != nil {
		t.Fatalf("dpkg -i over the installed package: %v\n%s", err, out)
	}
	t.Logf("FIGURE deb upgrade %v", time.Since(start).Round(100*time.Millisecond))
	if b, _ := os.ReadFile("/etc/quell/quelld.toml"); !strings.Contains(string(b), "# operator's edit") {
		t.Errorf("the upgrade replaced the edited conffile /etc/quell/quelld.toml")
	}
	if st, now := unitProp(t, systemd.UnitName, "ActiveState"), unitProp(t, systemd.UnitName, "MainPID"); st != "active" || now == pid {
		t.Errorf("after the upgrade quelld is %s with MainPID %s (was %s), want active and restarted", st, now, pid)
	}
	for f, w := range exact {
		waitCgroup(t, cg, f, w, 15*time.Second)
	}

	start = time.Now()
	if out, err := dpkg(t, "--purge", "quell"); err != nil {
		t.Fatalf("dpkg --purge quell: %v\n%s", err, out)
	} else {
		t.Logf("dpkg --purge quell:\n%s", out)
	}
	t.Logf("FIGURE deb dpkg-purge %v", time.Since(start).Round(100*time.Millisecond))
	// prerm ran quelld --restore-all through systemd: the values are back
	// and a daemon-reload does not bring quell's back from the scope.
	daemonReload(t)
	for f, w := range orig {
		if got := readCgroup(t, cg, f); got != w {
			t.Errorf("after dpkg --purge %s = %q, want the original %q", f, got, w)
		}
	}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("after dpkg --purge %s is still there", f)
		}
	}
	for _, d := range []string{"/var/lib/quell", "/run/quell", "/usr/share/doc/quell"} {
		if _, err := os.Lstat(d); err == nil {
			t.Errorf("after dpkg --purge %s is still there", d)
		}
	}
	// What stays is the operator's own policy file, and only it.
	left, _ := filepath.Glob("/etc/quell/*/*")
	top, _ := filepath.Glob("/etc/quell/*")
	if strings.Join(left, " ") != debPolicyFile || strings.Join(top, " ") != "/etc/quell/policy.d" {
		t.Errorf("after dpkg --purge /etc/quell holds %q %q, want only the operator's %s", top, left, debPolicyFile)
	}
	if got := unitProp(t, systemd.UnitName, "LoadState"); got != "not-found" {
		t.Errorf("after dpkg --purge systemd still knows quelld.service (LoadState %s)", got)
	}
	if _, err := run(t, "dpkg-query", "-W", "quell"); err == nil {
		t.Errorf("dpkg still knows quell after --purge")
	}
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
