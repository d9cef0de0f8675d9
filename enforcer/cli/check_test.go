package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const badPolicy = `version = 1
[[tenant]]
name = "ci"
  [tenant.match]
  names = ["ci-*"]
  [tenant.limits]
  memory = "1GiB"
  memory_high = "2GiB"
  pidz = 10
`

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeFindings(t *testing.T, r result) []finding {
	t.Helper()
	var fs []finding
	if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil {
		t.Fatalf("stdout is not a JSON array of findings: %v\n%s", err, r.stdout)
	}
	return fs
}

func TestPolicyCheckJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := writeFile(t, filepath.Join(dir, "20-ci.toml"), badPolicy)
	r := run(t, nil, Options{}, "policy", "check", "--json", "--portable", bad)
	want := []finding{
		{File: bad, Line: 8, Column: 3, Key: "limits.memory_high", Message: `tenant "ci": limits.memory_high (2GiB) is above limits.memory (1GiB)`},
		{File: bad, Line: 9, Column: 3, Key: "limits.pidz", Message: `tenant "ci": unknown key "limits.pidz" (did you mean "limits.pids"?)`},
	}
	if got := decodeFindings(t, r); !reflect.DeepEqual(got, want) || r.code != ExitFailure {
		t.Errorf("exit %d, findings\n%+v\nwant\n%+v", r.code, got, want)
	}
	// The human form is unchanged: file:line:col: owner: message.
	r = run(t, nil, Options{}, "policy", "check", "--portable", bad)
	wantOut := bad + `:8:3: tenant "ci": limits.memory_high (2GiB) is above limits.memory (1GiB)` + "\n" +
		bad + `:9:3: tenant "ci": unknown key "limits.pidz" (did you mean "limits.pids"?)` + "\n"
	if r.stdout != wantOut || r.stderr != "quell policy check: 2 problems; quelld would keep its last good policy\n" || r.code != ExitFailure {
		t.Errorf("human: exit %d\n%s---\n%s", r.code, r.stdout, r.stderr)
	}

	// Valid: an empty array, exit 0.
	good := writeFile(t, filepath.Join(dir, "10-ok.toml"), "version = 1\n[[tenant]]\nname = \"acme\"\n[tenant.match]\nnames = [\"acme-*\"]\n")
	r = run(t, nil, Options{}, "policy", "check", "--json", "--portable", good)
	if r.stdout != "[]\n" || r.code != ExitOK {
		t.Errorf("valid: exit %d, stdout %q", r.code, r.stdout)
	}
}

// A file that cannot be read is exit 3, not 1, even beside an invalid one:
// whether the policy is valid is then unknown.
func TestPolicyCheckUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.toml")
	r := run(t, nil, Options{}, "policy", "check", "--json", "--portable", missing)
	want := []finding{{File: missing, Message: "no such file or directory"}}
	if got := decodeFindings(t, r); !reflect.DeepEqual(got, want) || r.code != ExitUnreadable {
		t.Errorf("missing: exit %d, %+v", r.code, got)
	}
	bad := writeFile(t, filepath.Join(dir, "bad.toml"), badPolicy)
	r = run(t, nil, Options{}, "policy", "check", "--portable", bad, missing)
	if r.code != ExitUnreadable || !strings.Contains(r.stdout, missing+": no such file") ||
		!strings.Contains(r.stderr, "3 problems (1 unreadable)") {
		t.Errorf("missing and invalid: exit %d\n%s---\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, Options{PolicyDir: missing}, "policy", "check", "--portable")
	if r.code != ExitUnreadable {
		t.Errorf("missing default dir: exit %d", r.code)
	}
}

// Warnings do not fail the check; with --json they go to stderr so that
// stdout stays the array of problems.
func TestPolicyCheckJSONWarnings(t *testing.T) {
	t.Parallel()
	f := writeFile(t, filepath.Join(t.TempDir(), "p.toml"), `version = 1
[[tenant]]
name = "acme"
class = "guaranteed"
  [tenant.match]
  names = ["acme-*"]
  [tenant.limits]
  cpus = 1
`)
	r := run(t, nil, Options{}, "policy", "check", "--portable", f)
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "warning: ") {
		t.Fatalf("no warning to test with: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, Options{}, "policy", "check", "--json", "--portable", f)
	if r.code != ExitOK || r.stdout != "[]\n" || !strings.HasPrefix(r.stderr, "warning: ") {
		t.Errorf("--json with a warning: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ok := writeFile(t, filepath.Join(dir, "ok.toml"), "interval = \"2s\"\n# comment\nlock_memory = false\n")
	r := run(t, nil, Options{}, "config", "check", ok)
	if r.code != ExitOK || r.stdout != ok+": ok: 2 set (interval, lock_memory), the rest at their defaults\n" {
		t.Errorf("valid: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, Options{}, "config", "check", "--json", ok)
	if r.code != ExitOK || r.stdout != "[]\n" {
		t.Errorf("valid --json: exit %d %q", r.code, r.stdout)
	}
	// Without an argument: Options.ConfigPath ($QUELL_CONFIG or
	// /etc/quell/quelld.toml in cmd/quell).
	empty := writeFile(t, filepath.Join(dir, "empty.toml"), "# nothing\n")
	r = run(t, nil, Options{ConfigPath: empty}, "config", "check")
	if r.code != ExitOK || r.stdout != empty+": ok: every key at its default\n" {
		t.Errorf("default path: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.toml"), "interval = \"1x\"\n\n  lock_memory = \"yes\"\nintervall = \"1s\"\n")
	r = run(t, nil, Options{}, "config", "check", "--json", bad)
	want := []finding{
		{File: bad, Line: 1, Column: 1, Key: "interval", Message: `interval: "1x" is not a duration (e.g. "1s", "500ms")`},
		{File: bad, Line: 3, Column: 3, Key: "lock_memory", Message: `lock_memory: want true or false, got string "yes"`},
		{File: bad, Line: 4, Column: 1, Key: "intervall", Message: `unknown key "intervall" (did you mean "interval"?)`},
	}
	if got := decodeFindings(t, r); !reflect.DeepEqual(got, want) || r.code != ExitFailure {
		t.Errorf("invalid: exit %d, findings\n%+v\nwant\n%+v", r.code, got, want)
	}
	r = run(t, nil, Options{}, "config", "check", bad)
	if r.code != ExitFailure || !strings.HasPrefix(r.stdout, bad+`:1:1: interval: "1x" is not a duration`) ||
		!strings.Contains(r.stdout, "\n"+bad+`:3:3: lock_memory: `) ||
		r.stderr != "quell config check: 3 problems; quelld would not start with this file\n" {
		t.Errorf("invalid, human: exit %d\n%s---\n%s", r.code, r.stdout, r.stderr)
	}

	// Unreadable: exit 3. A directory, and a missing file (which quelld
	// itself would take as "all defaults", and the message says so).
	r = run(t, nil, Options{}, "config", "check", "--json", dir)
	if got := decodeFindings(t, r); r.code != ExitUnreadable || len(got) != 1 || got[0].Line != 0 || !strings.Contains(got[0].Message, "is a directory") {
		t.Errorf("directory: exit %d %+v", r.code, got)
	}
	r = run(t, nil, Options{}, "config", "check", filepath.Join(dir, "none.toml"))
	if r.code != ExitUnreadable || !strings.Contains(r.stdout, "no such file or directory (quelld would start with the defaults)") ||
		!strings.Contains(r.stderr, "nothing was checked") {
		t.Errorf("missing: exit %d\n%s---\n%s", r.code, r.stdout, r.stderr)
	}
}

// A hostile value in the file reaches the terminal escaped, and JSON
// exactly.
func TestConfigCheckEscapes(t *testing.T) {
	t.Parallel()
	bad := writeFile(t, filepath.Join(t.TempDir(), "q.toml"), "use_systemd = \"\\u001b[2Jyes\"\n")
	r := run(t, nil, Options{}, "config", "check", bad)
	if r.code != ExitFailure || strings.ContainsRune(r.stdout, 0x1b) {
		t.Errorf("exit %d, raw escape on the terminal: %q", r.code, r.stdout)
	}
	got := decodeFindings(t, run(t, nil, Options{}, "config", "check", "--json", bad))
	if len(got) != 1 || !strings.Contains(got[0].Message, `"\x1b[2Jyes"`) {
		t.Errorf("--json: %+v", got)
	}
}
