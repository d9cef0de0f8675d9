//go:build lab

package systemd_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/systemd"
)

const daemonConfigPath = "/etc/quell/quelld.toml"

// quell config check and quelld read /etc/quell/quelld.toml with one
// validator: what the check reports is what stops the service, position
// for position; a file the operator cannot read is exit 3, not 1.
func TestQuelldConfigCheckMatchesService(t *testing.T) {
	_ = os.Remove(daemonConfigPath) // the defaults, whatever the host image holds
	installQuelld(t, servicePolicy)
	t.Cleanup(func() { _ = os.Remove(daemonConfigPath) })
	mustRun(t, "systemctl", "stop", systemd.UnitName)

	bad := "interval = \"1s\"\nlock_memory = \"yes\"\n  intervall = \"2s\"\nmax_evictions_per_minute = 0\n"
	must(t, os.WriteFile(daemonConfigPath, []byte(bad), 0o644))
	out, code := quell(t, "config", "check")
	t.Logf("FIGURE config-check invalid: exit %d\n%s", code, out)
	want := []string{
		daemonConfigPath + `:2:1: lock_memory: want true or false, got string "yes"`,
		daemonConfigPath + `:3:3: unknown key "intervall" (did you mean "interval"?)`,
		daemonConfigPath + `:4:1: max_evictions_per_minute: want an integer from 1 to`,
	}
	if code != 1 {
		t.Errorf("quell config check on an invalid file: exit %d, want 1", code)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("quell config check does not say %q:\n%s", w, out)
		}
	}
	jout, code := quell(t, "config", "check", "--json")
	var fs []struct {
		File         string
		Line, Column int
		Key, Message string
	}
	// CombinedOutput: the JSON array is all there is on stdout, and nothing
	// goes to stderr in JSON mode.
	if err := json.Unmarshal([]byte(jout), &fs); err != nil || code != 1 || len(fs) != 3 || fs[1].Key != "intervall" || fs[1].Line != 3 || fs[1].Column != 3 {
		t.Errorf("--json: exit %d, %v, %+v\n%s", code, err, fs, jout)
	}

	// quelld refuses the same file, naming the same problems.
	if out, err := run(t, "systemctl", "start", systemd.UnitName); err == nil {
		t.Errorf("quelld started with an invalid config:\n%s", out)
	}
	var journal string
	waitFor(10*time.Second, func() bool {
		journal, _ = run(t, "journalctl", "--no-pager", "-o", "cat", "-u", systemd.UnitName)
		return strings.Contains(journal, "quell config check")
	})
	for _, w := range want {
		if !strings.Contains(journal, "daemon config: "+w) {
			t.Errorf("quelld's journal does not say %q:\n%s", w, journal)
		}
	}
	_, _ = run(t, "systemctl", "stop", systemd.UnitName)
	_, _ = run(t, "systemctl", "reset-failed", systemd.UnitName)

	// Unreadable for the operator: exit 3.
	must(t, os.Chmod(daemonConfigPath, 0o600))
	_, _ = run(t, "userdel", "lab-config-reader")
	mustRun(t, "useradd", "--no-create-home", "--user-group", "lab-config-reader")
	t.Cleanup(func() { _, _ = run(t, "userdel", "lab-config-reader") })
	out, code = quellAs(t, "lab-config-reader", "config", "check")
	t.Logf("FIGURE config-check unreadable: exit %d: %s", code, strings.TrimSpace(out))
	if code != 3 || !strings.Contains(out, "permission denied") {
		t.Errorf("quell config check as a user on a 0600 root file: exit %d, want 3\n%s", code, out)
	}
	out, code = quell(t, "config", "check", "/etc/quell/none.toml")
	if code != 3 {
		t.Errorf("quell config check on a missing file: exit %d, want 3\n%s", code, out)
	}

	// Fixed: the check passes and quelld starts on it.
	must(t, os.WriteFile(daemonConfigPath, []byte("interval = \"1s\"\nlock_memory = true\n"), 0o644))
	if out, code := quell(t, "config", "check"); code != 0 || !strings.Contains(out, ": ok: 2 set (interval, lock_memory)") {
		t.Errorf("quell config check on a valid file: exit %d\n%s", code, out)
	}
	if out, err := run(t, "systemctl", "start", systemd.UnitName); err != nil {
		t.Errorf("quelld did not start on a valid config: %v\n%s", err, out)
	}
}
