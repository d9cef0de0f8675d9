// Command quell-bench runs quell's benchmark suite (package benchmarks).
//
//	quell-bench run [--smoke] [--systemd] [--out DIR] [--emit]
//	    on a real cgroup v2 host (or inside the lab guest): run the suite
//	    here; --emit prints each result as a line for a host to collect.
//	quell-bench render --from DIR [--out DIR]
//	    render report.md and the charts again from DIR/report.json.
//	quell-bench lab [--smoke] [--out DIR] [--lab bin/lab] [--bin bin]
//	    on a development host: boot the lab (fast mode, then systemd mode
//	    for systemd-oomd), collect the results, run the Go benchmarks here
//	    and write the report.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quell-dev/quell/benchmarks"
	"github.com/quell-dev/quell/internal/safetext"
	"github.com/quell-dev/quell/test/labkit"
)

const usage = `usage: quell-bench [run|lab|render|help] [flags]

  run      run the suite on this host (a real cgroup v2 host, or inside the lab guest)
  lab      on a development host: boot the lab, run the suite there, write the report
  render   render report.md and the charts again from --from DIR/report.json

Examples:
  quell-bench lab                          the full suite (~20 min), report in benchmarks/results/<date>
  quell-bench lab --only reaction --out /tmp/r
  quell-bench render --from benchmarks/results/2026-11-29
  sudo QUELL_LAB_EXT4=/mnt/scratch QUELL_LAB_EXT4_DEV=/dev/sdb1 quell-bench run --out /tmp/report

Disks for "run" (the lab sets them; on a host, point them at scratch filesystems
the suite may fill; a case whose disk is unset reports "cannot run here"):
  QUELL_LAB_EXT4, QUELL_LAB_EXT4_DEV   ext4 mounted -o prjquota and its device: io.max,
                                       io.weight (iocost), buffered io.max, ext4 quota
  QUELL_LAB_XFS, QUELL_LAB_XFS_DEV     XFS mounted -o prjquota and its device: disk quota,
                                       buffered io.max on XFS
  QUELL_LAB_SLOW, QUELL_LAB_SLOW_DEV   a disk slow enough to contend: io protection
                                       (falls back to the ext4 one)
Swap must be on for the swap.max and memory protection cases.`

func main() {
	labkit.MaybeChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	sub := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("quell-bench "+sub, flag.ContinueOnError)
	smoke := fs.Bool("smoke", false, "one short case per section (CI)")
	out := fs.String("out", filepath.Join("benchmarks", "results", time.Now().Format("2006-01-02")), "report `dir`")
	emit := fs.Bool("emit", false, "run: print each result as a "+strings.TrimSpace(benchmarks.ResultPrefix)+" line, write no report")
	sysd := fs.Bool("systemd", false, "run: only the cases needing systemd as PID 1 (systemd-oomd)")
	cgroot := fs.String("cgroup-root", "/sys/fs/cgroup", "cgroup v2 `mount`")
	procRoot := fs.String("proc", "/proc", "proc `mount`")
	labBin := fs.String("lab", "bin/lab", "lab: the lab `binary`")
	binDir := fs.String("bin", "bin", "lab: `dir` shared as the guest's PATH (quelld, quell-bench)")
	mem := fs.Int("mem", 3072, "lab: guest memory `MiB` (10,000 cgroups need room)")
	noSystemd := fs.Bool("no-systemd", false, "lab: skip the systemd-mode boot (systemd-oomd)")
	from := fs.String("from", "", "render: `dir` holding the report.json to render again")
	only := fs.String("only", "", "run, lab: only cases whose section or name contains one of these comma-separated `words` (e.g. protection,oomd)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	if sub == "help" {
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return 0
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch sub {
	case "run":
		// quelld runs with its unit's LimitNOFILE=65536; the quelld the
		// cases start inherits this process's limit, which a shell leaves
		// at 4096 (quelld would then read most of 10,000 cgroups by path).
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 65536, Max: 65536}); err != nil {
			fmt.Fprintf(os.Stderr, "quell-bench: RLIMIT_NOFILE 65536 as quelld's unit sets: %v (quelld keeps fewer cgroups open)\n", err)
		}
		env := benchmarks.DetectEnv(*cgroot, *procRoot)
		cases := benchmarks.Cases()
		if *sysd {
			cases = benchmarks.SystemdCases()
		} else if env.Systemd {
			cases = append(cases, benchmarks.SystemdCases()...)
		}
		cases = benchmarks.Only(cases, *only)
		if len(cases) == 0 {
			fmt.Fprintf(os.Stderr, "quell-bench: no case matches --only %q\n", *only)
			return 2
		}
		s := benchmarks.Suite{Env: env, Progress: os.Stdout, Smoke: *smoke}
		if *emit {
			s.Emit = benchmarks.EmitTo(os.Stdout)
		}
		rs, err := s.Run(ctx, cases)
		if err != nil {
			fmt.Fprintln(os.Stderr, "quell-bench:", err)
			return 1
		}
		if *emit {
			return 0
		}
		return write(*out, benchmarks.Report{Date: time.Now(), On: []string{env.Label}, Smoke: *smoke, Results: rs, Full: *only == "" && !*sysd})
	case "render":
		b, err := os.ReadFile(filepath.Join(*from, "report.json"))
		var rep benchmarks.Report
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "quell-bench render:", err)
			return 1
		}
		if !hasControl(rep.Results, "per idle container per pass") {
			rep.Results = append(rep.Results, benchmarks.GoBenchResults(rep.GoBench, rep.GoOn)...)
		}
		return write(*out, rep)
	case "lab":
		return lab(ctx, *labBin, *binDir, *out, *mem, *smoke, *noSystemd, *only)
	}
	fmt.Fprintln(os.Stderr, "usage: quell-bench [run|lab] [flags]")
	return 2
}

func lab(ctx context.Context, labBin, binDir, out string, mem int, smoke, noSystemd bool, only string) int {
	rep := benchmarks.Report{Date: time.Now(), Smoke: smoke, Full: only == "" && !noSystemd}
	load0 := loadavg()
	extra := ""
	if smoke {
		extra = " --smoke"
	}
	if only != "" {
		extra += " --only " + shellQuote(only)
	}
	var boots []struct{ mode, args string }
	if len(benchmarks.Only(benchmarks.Cases(), only)) > 0 {
		boots = append(boots, struct{ mode, args string }{"fast", ""})
	}
	if !smoke && !noSystemd && len(benchmarks.Only(benchmarks.SystemdCases(), only)) > 0 {
		boots = append(boots, struct{ mode, args string }{"systemd", " --systemd"})
	}
	if len(boots) == 0 {
		fmt.Fprintf(os.Stderr, "quell-bench: no case matches --only %q\n", only)
		return 2
	}
	for _, b := range boots {
		fmt.Printf("quell-bench: booting the lab (%s mode)\n", b.mode)
		argv := []string{labBin, "run", "--mode", b.mode, "--mem", fmt.Sprint(mem), "--timeout", "90m", "--bin", binDir, "--",
			"quell-bench run --emit" + b.args + extra}
		rs, err := benchmarks.RunLab(ctx, argv, os.Stdout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "quell-bench: lab %s mode: %v\n", b.mode, err)
			rs = append(rs, benchmarks.Result{Section: benchmarks.Reaction, Case: "lab " + b.mode + " mode", Err: err.Error()})
		}
		rep.Results = append(rep.Results, rs...)
	}
	seen := map[string]bool{}
	for _, r := range rep.Results {
		if r.On != "" && !seen[r.On] {
			seen[r.On] = true
			rep.On = append(rep.On, r.On)
		}
	}
	rep.On = append(rep.On, fmt.Sprintf("the lab's host (qemu runs here): load average %s at the start, %s at the end of the lab runs (other guests share its 2 cores)", load0, loadavg()))
	if !smoke {
		fmt.Println("quell-bench: Go benchmarks on this host")
		gb, err := benchmarks.GoBench(ctx, "go", ".", []string{"./limits", "./enforcer", "./enforcer/detect", "./policies"})
		if err != nil {
			gb += "\n(go test: " + err.Error() + ")"
		}
		rep.GoBench, rep.GoOn = gb, hostLabel()
		rep.Results = append(rep.Results, benchmarks.GoBenchResults(gb, rep.GoOn)...)
	}
	return write(out, rep)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func hostLabel() string {
	h, _ := os.Hostname()
	env := benchmarks.DetectEnv("/sys/fs/cgroup", "/proc")
	return "on the build host " + h + " (" + strings.TrimPrefix(env.Label, "host: ") + "), not emulated"
}

func write(dir string, rep benchmarks.Report) int {
	if err := rep.Write(dir); err != nil {
		fmt.Fprintln(os.Stderr, "quell-bench:", err)
		return 1
	}
	vs := rep.Verdicts()
	for _, v := range vs {
		if !v.Pass {
			fmt.Printf("MISS  %s / %s: %s\n", v.Result.Section, safetext.Line(v.Result.Case), safetext.Line(v.Why))
		}
	}
	failed := benchmarks.Misses(vs)
	fmt.Printf("quell-bench: report in %s (report.md, report.json, *.svg); %d results, %d checks against benchmarks/targets.go, %d failed\n", dir, len(rep.Results), len(vs), failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// shellQuote quotes s for the lab's sh -c.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func hasControl(rs []benchmarks.Result, control string) bool {
	for _, r := range rs {
		if r.Control == control {
			return true
		}
	}
	return false
}
