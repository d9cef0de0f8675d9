package benchmarks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// The memory antagonist, identical for systemd-oomd and quelld: a
// transient docker-<hex>.scope in benchoom.slice with MemoryHigh=48M touching
// 160 MiB over and over, so it stalls in reclaim (memory pressure).
const oomSlice = "benchoom.slice" // no dash: systemd nests "a-b.slice" under a.slice

func needSystemd(e Env) string {
	if !e.Systemd {
		return "needs systemd as PID 1 (lab --mode systemd)"
	}
	if _, err := os.Stat("/usr/lib/systemd/systemd-oomd"); err != nil {
		if _, err2 := os.Stat("/lib/systemd/systemd-oomd"); err2 != nil {
			return "systemd-oomd is not installed (Debian package systemd-oomd)"
		}
	}
	return ""
}

// oomdCase: onset → systemd-oomd kills the antagonist, with oomd's
// defaults (ManagedOOMMemoryPressureLimit 60%, 30 s) or tuned.
func oomdCase(tuned bool, smoke bool) Case {
	name := "systemd-oomd defaults (60%, 30s)"
	limit, dur := "", ""
	if tuned {
		name, limit, dur = "systemd-oomd tuned (20%, 2s)", "20%", "2s"
	}
	return Case{Section: Reaction, Name: name, Est: 100 * time.Second, Smoke: smoke, Needs: needSystemd,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			conf := "[OOM]\n"
			if dur != "" {
				conf += "DefaultMemoryPressureDurationSec=" + dur + "\n"
			}
			if err := os.MkdirAll("/etc/systemd/oomd.conf.d", 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile("/etc/systemd/oomd.conf.d/99-bench.conf", []byte(conf), 0o644); err != nil {
				return nil, err
			}
			slice := "[Slice]\nManagedOOMMemoryPressure=kill\n"
			if limit != "" {
				slice += "ManagedOOMMemoryPressureLimit=" + limit + "\n"
			}
			if err := os.WriteFile("/run/systemd/system/"+oomSlice, []byte(slice), 0o644); err != nil {
				return nil, err
			}
			if out, err := sh("systemctl unmask systemd-oomd.service systemd-oomd.socket; systemctl daemon-reload && systemctl restart systemd-oomd && systemctl start " + oomSlice); err != nil {
				return nil, fmt.Errorf("start oomd: %v: %s", err, out)
			}
			trials := pick(smoke, 1, 3)
			var ts []float64
			for i := 0; i < trials; i++ {
				if err := waitCalm(env, "memory", 2, 90*time.Second); err != nil {
					return nil, err
				}
				unit := "docker-" + labkit.HexID("bad0") + ".scope"
				dir := filepath.Join(env.CgroupRoot, oomSlice, unit)
				onset, err := startAntagonist(env, unit)
				if err != nil {
					return nil, err
				}
				ev := filepath.Join(dir, "cgroup.events")
				if !waitFor(30*time.Second, 20*time.Millisecond, func() bool { return strings.Contains(labkit.ReadFile(ev), "populated 1") }) {
					return nil, fmt.Errorf("antagonist scope %s never ran", unit)
				}
				gone := waitFor(3*time.Minute, 50*time.Millisecond, func() bool {
					return !strings.Contains(labkit.ReadFile(ev), "populated 1")
				})
				took := time.Since(onset).Seconds()
				_, _ = sh("systemctl stop " + unit + " 2>/dev/null; systemctl reset-failed " + unit + " 2>/dev/null")
				if !gone {
					out, _ := sh("oomctl; journalctl -u systemd-oomd --no-pager | tail -5")
					return nil, fmt.Errorf("systemd-oomd did not kill the antagonist within 3 min: %s", out)
				}
				// Only a kill systemd-oomd logged counts.
				if out, _ := sh("journalctl -u systemd-oomd --no-pager -o cat | grep -c " + unit[:20]); strings.TrimSpace(out) == "0" {
					log, _ := sh("journalctl --no-pager -o cat -n 8")
					return nil, fmt.Errorf("antagonist ended after %.1fs but systemd-oomd logged no kill of %s: %s", took, unit, log)
				}
				ts = append(ts, took)
			}
			r := reactionResult(name, ts, "transient scope docker-<hex>.scope, MemoryHigh=48M MemorySwapMax=64M, touching 160 MiB in "+oomSlice+
				" (ManagedOOMMemoryPressure=kill"+map[bool]string{true: ", Limit=" + limit + ", DefaultMemoryPressureDurationSec=" + dur, false: ""}[tuned]+
				"); onset → cgroup.events populated 0 (polled 50 ms)")
			return []Result{r}, nil
		}}
}

// quellMemoryCase: the same antagonist under quelld with a rule on host
// memory pressure at tuned oomd's threshold and duration (20%, 2 s); onset
// → quelld's first write (a throttle: memory.high tightened).
func quellMemoryCase(smoke bool) Case {
	return Case{Section: Reaction, Name: "quelld memory PSI (same antagonist)", Est: 60 * time.Second, Smoke: smoke, Needs: needSystemd,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			policy := `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["` + oomSlice + `/docker-bad0*.scope"]

[[rule]]
name = "mem"
when = { signal = "host.memory.some.avg1", above = 20.0, for = "2s" }
target = { classes = ["best-effort"], rank = "memory" }
ladder = [{ action = "throttle", factor = 0.5, for = "300s" }]
cooldown = "300s"
`
			_, _ = sh("rm -f /run/systemd/system/" + oomSlice + "; systemctl daemon-reload; systemctl stop systemd-oomd")
			trials := pick(smoke, 1, 3)
			var ts []float64
			for i := 0; i < trials; i++ {
				if err := waitCalm(env, "memory", 2, 90*time.Second); err != nil {
					return nil, err
				}
				q, err := startQuelld(env, policy, "")
				if err != nil {
					return nil, err
				}
				unit := "docker-" + labkit.HexID("bad0") + ".scope"
				dir := filepath.Join(env.CgroupRoot, oomSlice, unit)
				onset, err := startAntagonist(env, unit)
				if err != nil {
					q.stop()
					return nil, err
				}
				orig := ""
				acted := waitFor(3*time.Minute, 20*time.Millisecond, func() bool {
					v := labkit.ReadFile(filepath.Join(dir, "memory.high"))
					if orig == "" {
						orig = v
					}
					return v != orig && v != ""
				})
				took := time.Since(onset).Seconds()
				_, _ = sh("systemctl stop " + unit)
				log := labkit.ReadFile(q.Log)
				q.stop()
				if !acted {
					return nil, fmt.Errorf("quelld did not act within 3 min: %s", labkit.Tail(log, 3))
				}
				ts = append(ts, took)
			}
			return []Result{reactionResult("quelld memory PSI (same antagonist)", ts,
				"same antagonist; rule host.memory.some.avg1 > 20% for 2s, rank memory → throttle; onset → antagonist's memory.high written (polled 20 ms)")}, nil
		}}
}

// startAntagonist starts the memory antagonist as a transient scope unit
// named like a Docker container (so quelld discovers it too) in oomSlice.
func startAntagonist(env Env, unit string) (time.Time, error) {
	onset := time.Now()
	cmd := exec.Command("systemd-run", "--scope", "--unit", unit, "--slice", oomSlice, "-p", "MemoryHigh=48M", "-p", "MemorySwapMax=64M", env.Self)
	cmd.Env = append(os.Environ(), labkit.ChildEnv("churn", "160")...)
	if err := cmd.Start(); err != nil {
		return onset, fmt.Errorf("systemd-run: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return onset, nil
}

func sh(cmd string) (string, error) {
	out, err := exec.Command("/bin/sh", "-c", cmd).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
