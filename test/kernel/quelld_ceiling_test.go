//go:build lab

package kernel

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// ceilingPolicy caps each container of tenant rt; extra goes into
// [tenant.container].
func ceilingPolicy(override bool, caps string) string {
	o := ""
	if override {
		o = "override = true\n"
	}
	return "[[tenant]]\nname = \"rt\"\n" + o + "  [tenant.match]\n  names = [\"rt-*\"]\n  [tenant.container]\n" + caps
}

// TestQuelldKeepsRuntimeLimitsAsCeilings: a container started as
// `docker run -m 64m --cpus 0.2` would be (runc sets memory.max and cpu.max
// from its OCI config) keeps those limits under a policy whose caps are
// looser; a tighter policy wins; when the runtime itself changes a limit
// later (`runc update --memory 48m`, what docker update does) quelld adopts
// the new value as the original and does not write the old one back; only
// override = true lets the policy loosen; `quelld --restore-all` puts back
// the runtime's latest values.
func TestQuelldKeepsRuntimeLimitsAsCeilings(t *testing.T) {
	labkit.Require(t)
	loose := "  memory = \"256MiB\"\n  cpus = 1\n"
	q := startQuelld(t, ceilingPolicy(false, loose))
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "rt-web",
		MemoryBytes: 64 << 20, CPUQuota: 20000, PidsLimit: 100})
	file := func(f string) string { return strings.TrimSpace(labkit.ReadFile(filepath.Join(c.CgroupDir, f))) }
	if file("memory.max") != "67108864" || file("cpu.max") != "20000 100000" || file("pids.max") != "100" {
		t.Fatalf("runc did not set the runtime's limits: memory.max %s cpu.max %q pids.max %s", file("memory.max"), file("cpu.max"), file("pids.max"))
	}
	reload := func(policy string) {
		t.Helper()
		q.writePolicy(policy)
		if err := q.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	// explain says the runtime decided both files.
	decided := func() map[string]view.Change {
		out, err := q.Quell("explain", "--json", c.ID)
		if err != nil {
			return nil
		}
		var x view.Explanation
		if json.Unmarshal([]byte(out), &x) != nil {
			return nil
		}
		m := map[string]view.Change{}
		for _, l := range x.Limits {
			m[l.File] = l
		}
		return m
	}
	var by map[string]view.Change
	if watch(15*time.Second, func() bool {
		by = decided()
		return by["memory.max"].DecidedBy == "runtime" && by["cpu.max"].DecidedBy == "runtime"
	}).IsZero() {
		t.Fatalf("quell explain does not say the runtime decided memory.max and cpu.max: %+v\nmemory.max now %s, cpu.max %q\n%s",
			by, file("memory.max"), file("cpu.max"), q.quell("explain", c.ID))
	}
	t.Logf("quell explain:\n%s", q.quell("explain", c.ID))
	// steady checks that files keep their values for d, sampled every 20 ms.
	steady := func(d time.Duration, want map[string]string) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			for f, w := range want {
				if got := file(f); got != w {
					t.Fatalf("%s = %q, want %q kept (the runtime's limit is a ceiling)", f, got, w)
				}
			}
		}
	}
	steady(3*time.Second, map[string]string{"memory.max": "67108864", "cpu.max": "20000 100000"})
	t.Logf("FIGURE ceiling looser-policy memory.max=%s cpu.max=%q (policy 256MiB, 1 CPU; runtime 64MiB, 0.2 CPU)", file("memory.max"), file("cpu.max"))

	// A tighter policy wins.
	reload(ceilingPolicy(false, "  memory = \"32MiB\"\n  cpus = 0.155\n"))
	waitFile(t, filepath.Join(c.CgroupDir, "memory.max"), "33554432", 10*time.Second)
	waitFile(t, filepath.Join(c.CgroupDir, "cpu.max"), "15500 100000", 10*time.Second)
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		// Under systemd quelld set both through D-Bus too; a daemon-reload
		// writes systemd's values back (cpu.max rounded up to 16000): they
		// are quelld's own, not the runtime's, and the originals stay.
		if out, err := exec.Command("systemctl", "daemon-reload").CombinedOutput(); err != nil {
			t.Fatalf("systemctl daemon-reload: %v\n%s", err, out)
		}
		t.Logf("after daemon-reload: memory.max %s cpu.max %q", file("memory.max"), file("cpu.max"))
		time.Sleep(7 * time.Second) // past the 5-pass re-read
		by := decided()
		if by["memory.max"].Old != "67108864" || by["cpu.max"].Old != "20000 100000" {
			t.Fatalf("after daemon-reload the originals are memory.max %q cpu.max %q: quelld took its own values for the runtime's", by["memory.max"].Old, by["cpu.max"].Old)
		}
		waitFile(t, filepath.Join(c.CgroupDir, "cpu.max"), "15500 100000", 10*time.Second)
	}

	// The runtime changes the limit itself: the new original.
	update := exec.Command(labkit.Runc(), "--root", c.StateRoot, "update", "--memory", "48m", c.ID)
	if out, err := update.CombinedOutput(); err != nil {
		t.Fatalf("runc update --memory 48m: %v\n%s", err, out)
	}
	if got := file("memory.max"); got != "50331648" && got != "33554432" {
		t.Fatalf("memory.max %s right after runc update --memory 48m", got)
	}
	var adopted time.Time
	wrong := ""
	adopted = watch(15*time.Second, func() bool {
		if v := file("memory.max"); v == "67108864" || v == "268435456" {
			wrong = v
			return true
		}
		return decided()["memory.max"].Old == "50331648"
	})
	if wrong != "" {
		t.Fatalf("memory.max %s after the runtime set 48 MiB: quelld wrote back a limit the runtime no longer has", wrong)
	}
	if adopted.IsZero() {
		t.Fatalf("the runtime's 48 MiB was not adopted as the original: explain %+v\n%s", decided()["memory.max"], q.quell("events"))
	}
	waitFile(t, filepath.Join(c.CgroupDir, "memory.max"), "33554432", 10*time.Second) // min(policy 32, runtime 48)
	steady(2*time.Second, map[string]string{"memory.max": "33554432"})

	// Back to the looser policy: the ceiling is the adopted 48 MiB.
	reload(ceilingPolicy(false, loose))
	waitFile(t, filepath.Join(c.CgroupDir, "memory.max"), "50331648", 10*time.Second)
	steady(3*time.Second, map[string]string{"memory.max": "50331648", "cpu.max": "20000 100000"})
	t.Logf("FIGURE ceiling after runc update: memory.max=%s (adopted 48MiB; policy 256MiB)", file("memory.max"))

	// override = true: the policy may loosen.
	reload(ceilingPolicy(true, loose))
	waitFile(t, filepath.Join(c.CgroupDir, "memory.max"), "268435456", 10*time.Second)
	waitFile(t, filepath.Join(c.CgroupDir, "cpu.max"), "100000 100000", 10*time.Second)
	if by := decided(); by["memory.max"].DecidedBy != "policy" {
		t.Errorf("with override explain says %q decided memory.max, want policy", by["memory.max"].DecidedBy)
	}

	// Stand down and restore: the runtime's latest values come back.
	q.stop()
	restoreAll(t, q)
	if got, got2 := file("memory.max"), file("cpu.max"); got != "50331648" || got2 != "20000 100000" {
		t.Fatalf("after quelld --restore-all: memory.max %s, cpu.max %q; want the runtime's 50331648 (adopted) and 20000 100000", got, got2)
	}
	t.Logf("FIGURE ceiling restored memory.max=%s cpu.max=%q", file("memory.max"), file("cpu.max"))
}

// restoreAll runs `quelld --restore-all` on q's state dir (q stopped).
func restoreAll(t *testing.T, q *quelld) {
	t.Helper()
	cmd := exec.Command("quelld", "--restore-all", "--config", filepath.Join(q.dir, "none.toml"),
		"--policy", filepath.Join(q.dir, "policy.d"), "--state-dir", filepath.Join(q.dir, "state"),
		"--socket", q.socket, "--metrics", "off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("quelld --restore-all: %v\n%s", err, out)
	}
}
