package systemd

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"
)

// parseUnit is a minimal systemd.syntax(7) reader: sections, Key=Value,
// repeated keys appended, comments and blank lines skipped. No line
// continuations: the unit does not use them.
func parseUnit(t *testing.T, b []byte) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || s[0] == '#' || s[0] == ';':
		case s[0] == '[' && s[len(s)-1] == ']':
			section = s[1 : len(s)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(s, "=")
			if !ok || section == "" || strings.HasSuffix(s, "\\") {
				t.Fatalf("quelld.service:%d: cannot parse %q", line, s)
			}
			out[section][strings.TrimSpace(k)] = append(out[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return out
}

func TestUnitFile(t *testing.T) {
	t.Parallel()
	u := parseUnit(t, UnitFile)
	svc := u["Service"]
	one := func(key, want string) {
		t.Helper()
		if got := svc[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want exactly %q", key, got, want)
		}
	}
	// Debian 12 ships systemd 252; notify-reload needs 253.
	one("Type", "notify")
	one("NotifyAccess", "main")
	one("ExecStart", "/usr/local/bin/quelld")
	one("ExecReload", "/bin/kill -HUP $MAINPID")
	one("WatchdogSec", "10s")
	one("Restart", "on-failure")
	one("Delegate", "no")
	one("OOMScoreAdjust", "-900")
	// "full", not "strict": a moved Docker data-root or podman graphroot
	// must stay writable for project quotas.
	one("ProtectSystem", "full")
	one("ProtectHome", "yes")
	one("NoNewPrivileges", "yes")
	one("StateDirectory", "quell")
	one("RuntimeDirectory", "quell")

	// quelld must sit outside everything it limits.
	slice := svc["Slice"]
	if len(slice) != 1 || slice[0] == "system.slice" || slice[0] == "quell.slice" ||
		strings.HasPrefix(slice[0], "quell-") || SliceCgroup(slice[0]) != slice[0] {
		t.Errorf("Slice = %q, want a top-level slice outside system.slice and quell.slice", slice)
	}

	rw := strings.Fields(strings.Join(svc["ReadWritePaths"], " "))
	for _, p := range []string{"/sys/fs/cgroup", "/var/lib/quell", "/run/quell", "-/var/lib/docker"} {
		if !slices.Contains(rw, p) {
			t.Errorf("ReadWritePaths %q lacks %s", rw, p)
		}
	}
	caps := strings.Fields(strings.Join(svc["CapabilityBoundingSet"], " "))
	for _, c := range []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_RESOURCE", "CAP_KILL",
		"CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_CHOWN", "CAP_SYS_PTRACE"} {
		if !slices.Contains(caps, c) {
			t.Errorf("CapabilityBoundingSet %q lacks %s", caps, c)
		}
	}
	// Settings that would make the cgroup tree or block devices read-only
	// or unreachable, or forbid setns into container network namespaces.
	for _, k := range []string{"ProtectControlGroups", "ProtectKernelTunables", "PrivateDevices",
		"ProtectClock", "RestrictNamespaces", "DynamicUser", "User"} {
		if v, ok := svc[k]; ok {
			t.Errorf("%s=%q would break enforcement", k, v)
		}
	}
	families := strings.Join(svc["RestrictAddressFamilies"], " ")
	for _, f := range []string{"AF_UNIX", "AF_NETLINK"} {
		if !strings.Contains(families, f) {
			t.Errorf("RestrictAddressFamilies %q lacks %s", families, f)
		}
	}
	if got := u["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("WantedBy = %q", got)
	}
}

func TestSysusersConf(t *testing.T) {
	t.Parallel()
	var entries []string
	for _, l := range strings.Split(string(SysusersConf), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			entries = append(entries, strings.Join(strings.Fields(l), " "))
		}
	}
	if !slices.Equal(entries, []string{"g quell -"}) {
		t.Errorf("sysusers entries = %q, want the group quell", entries)
	}
}
