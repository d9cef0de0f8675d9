package benchmarks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The memory antagonist, identical for systemd-oomd and quelld: a
// transient service in bench-oom.slice with MemoryHigh=48M touching
// 160 MiB over and over, so it stalls in reclaim (memory pressure).
const oomSlice = "bench-oom.slice"

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
			if out, err := sh("systemctl daemon-reload && systemctl restart systemd-oomd && systemctl start " + oomSlice); err != nil {
				return nil, fmt.Errorf("start oomd: %v: %s", err, out)
			}
			trials := pick(smoke, 1, 3)
			var ts []float64
			for i := 0; i < trials; i++ {
				if err := waitCalm(env, "memory", 2, 90*time.Second); err != nil {
					return nil, err
				}
				unit := fmt.Sprintf("bench-oomd-%d-%d.service", time.Now().Unix(), i)
				dir := filepath.Join(env.CgroupRoot, oomSlice, unit)
				onset, err := startAntagonist(env, unit)
				if err != nil {
					return nil, err
				}
				gone := waitFor(3*time.Minute, 50*time.Millisecond, func() bool {
					return !strings.Contains(readTrim(filepath.Join(dir, "cgroup.events")), "populated 1")
				})
				_, _ = sh("systemctl stop " + unit + " 2>/dev/null; systemctl reset-failed " + unit + " 2>/dev/null")
				if !gone {
					out, _ := sh("oomctl; journalctl -u systemd-oomd --no-pager | tail -5")
					return nil, fmt.Errorf("systemd-oomd did not kill the antagonist within 3 min: %s", out)
				}
				ts = append(ts, time.Since(onset).Seconds())
			}
			r := reactionResult(name, ts, "transient service MemoryHigh=48M touching 160 MiB in "+oomSlice+
				" (ManagedOOMMemoryPressure=kill"+map[bool]string{true: ", Limit=" + limit + ", DefaultMemoryPressureDurationSec=" + dur, false: ""}[tuned]+
				"); onset → cgroup.events populated 0 (polled 50 ms)")
			return []Result{r}, nil
		}}
}

// quellMemoryCase: the same antagonist under quelld with a rule on the
// tenant's memory pressure; onset → quelld's first write (throttle).
func quellMemoryCase(smoke bool) Case {
	return Case{Section: Reaction, Name: "quelld memory PSI (same antagonist)", Est: 60 * time.Second, Smoke: smoke, Needs: needSystemd,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			policy := `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["` + oomSlice + `/bench-quell-*.service"]

[[rule]]
name = "mem"
when = { signal = "tenant.memory.some.avg10", above = 20.0, for = "1s" }
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
				unit := fmt.Sprintf("bench-quell-%d-%d.service", time.Now().Unix(), i)
				dir := filepath.Join(env.CgroupRoot, oomSlice, unit)
				onset, err := startAntagonist(env, unit)
				if err != nil {
					q.stop()
					return nil, err
				}
				orig := ""
				acted := waitFor(3*time.Minute, 20*time.Millisecond, func() bool {
					v := readTrim(filepath.Join(dir, "cpu.max"))
					if orig == "" {
						orig = v
					}
					return v != orig && v != ""
				})
				took := time.Since(onset).Seconds()
				_, _ = sh("systemctl stop " + unit)
				log := readTrim(q.log)
				q.stop()
				if !acted {
					return nil, fmt.Errorf("quelld did not act within 3 min: %s", tailOf(log, 3))
				}
				ts = append(ts, took)
			}
			return []Result{reactionResult("quelld memory PSI (same antagonist)", ts,
				"same antagonist; rule tenant.memory.some.avg10 > 20% for 1s → throttle; onset → antagonist's cpu.max written (polled 20 ms)")}, nil
		}}
}

func startAntagonist(env Env, unit string) (time.Time, error) {
	onset := time.Now()
	out, err := exec.Command("systemd-run", "--unit", unit, "--slice", oomSlice, "-p", "MemoryHigh=48M", "-p", "MemorySwapMax=64M",
		"-E", childEnv+"=churn", "-E", childArg+"=160", "-E", "GOMAXPROCS=1", env.Self).CombinedOutput()
	if err != nil {
		return onset, fmt.Errorf("systemd-run: %v: %s", err, out)
	}
	return onset, nil
}

func sh(cmd string) (string, error) {
	out, err := exec.Command("/bin/sh", "-c", cmd).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
