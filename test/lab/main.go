// Command lab runs quell's real-kernel tests in a throwaway qemu guest with
// a pure cgroup v2 hierarchy, because the development and CI hosts' own
// cgroups are a v1/v2 hybrid that must not be touched. It boots the host's
// Debian kernel with the lab binary itself as /init, shares the host root
// read-only (9p, under a tmpfs overlay) and the repo's bin/ dir, and carries
// the command's output and exit status back. See README.md.
//
// Usage:
//
//	lab prereqs [PKG...]
//	lab run [--mode fast|systemd] [--timeout 5m] [--mem 1536] -- 'shell command'
//	lab test [--run REGEXP]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// guestBootAllowance is added to a test binary's own timeout for booting.
const guestBootAllowance = 3 * time.Minute

func main() {
	if os.Getpid() == 1 && filepath.Base(os.Args[0]) == "init" {
		guestInit() // never returns
	}
	os.Exit(run(os.Args[1:]))
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  lab prereqs [PKG...]           install missing host packages (apt-get; root or sudo), and PKGs
                                 (make bench adds systemd-oomd for the systemd guest)
  lab run [flags] -- 'command'   boot a guest, run command, exit with its status
  lab test [flags]               run bin/kernel.test (fast) and bin/systemd.test (systemd)
flags: --mode fast|systemd  --timeout 5m  --mem 1536  --accel tcg|kvm  --bin DIR  --keep
`)
}

func run(args []string) int {
	if len(args) == 0 {
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "prereqs":
		if err := prereqs(os.Stderr, args[1:]...); err != nil {
			fmt.Fprintf(os.Stderr, "lab prereqs: %v\n", err)
			return 1
		}
		return 0
	case "guest-run": // inside the guest only
		err := guestRun(guestJobDir, "/dev/ttyS1")
		if err != nil {
			fmt.Fprintf(os.Stderr, "quell-lab guest-run: %v\n", err)
		}
		if os.Getenv("QUELL_LAB_UNIT") == "1" {
			// Under systemd: the status is on disk; power off now rather
			// than wait for an orderly shutdown of a throwaway guest.
			fmt.Fprintln(os.Stderr, "quell-lab: command done, powering off")
			powerOff()
		}
		if err != nil {
			return 1
		}
		return 0
	case "run", "test":
		return runOrTest(ctx, args[0], args[1:])
	case "-h", "--help", "help":
		usage()
		return 0
	}
	usage()
	return 2
}

func runOrTest(ctx context.Context, sub string, args []string) int {
	fs := flag.NewFlagSet("lab "+sub, flag.ContinueOnError)
	o := runOptions{Stdout: os.Stdout, Log: os.Stderr}
	defBin := "bin"
	if self, err := os.Executable(); err == nil {
		defBin = filepath.Dir(self)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	fs.StringVar(&o.Mode, "mode", modeFast, "fast (busybox-free Go init as PID 1) or systemd (systemd as PID 1)")
	timeout := 5 * time.Minute
	if sub == "test" {
		timeout = 40 * time.Minute // per suite: the systemd suite runs real dockerd, podman and containerd
	}
	fs.DurationVar(&o.Timeout, "timeout", timeout, "kill the guest after this long (lab test: the test binary's -test.timeout, plus boot)")
	fs.IntVar(&o.MemMiB, "mem", 1536, "guest memory in MiB")
	fs.StringVar(&o.Accel, "accel", envOr("QUELL_LAB_ACCEL", "tcg"), "tcg or kvm (kvm hangs on the dev VMs)")
	fs.StringVar(&o.BinDir, "bin", defBin, "directory shared as the guest's "+guestBinDir+" (on PATH)")
	fs.StringVar(&o.CacheDir, "cache", filepath.Join(cache, "quell-lab"), "where guest images are cached")
	fs.StringVar(&o.BootDir, "boot", "/boot", "where vmlinuz-<ver> is")
	fs.StringVar(&o.ModRoot, "modules", "/lib/modules", "where <ver>/modules.dep is")
	fs.StringVar(&o.Busybox, "busybox", "/bin/busybox", "static busybox for the initramfs")
	fs.BoolVar(&o.Keep, "keep", false, "keep the run dir (console.log, job/) even on success")
	runRE := ""
	if sub == "test" {
		fs.StringVar(&runRE, "run", "", "only tests matching this regexp (-test.run)")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.Accel != "tcg" && o.Accel != "kvm" {
		fmt.Fprintf(os.Stderr, "lab %s: --accel must be tcg or kvm\n", sub)
		return 2
	}
	if err := lockHost(o.CacheDir, sub == "test", o.Log); err != nil {
		fmt.Fprintf(os.Stderr, "lab %s: %v\n", sub, err)
		return 1
	}
	if sub == "test" {
		if fs.NArg() != 0 {
			usage()
			return 2
		}
		if err := labTest(ctx, o, runRE); err != nil {
			fmt.Fprintf(os.Stderr, "lab test: %v\n", err)
			return 1
		}
		return 0
	}
	o.Command = strings.Join(fs.Args(), " ")
	if strings.TrimSpace(o.Command) == "" {
		usage()
		return 2
	}
	code, err := runLab(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab run: FAILED: %v\n", err)
		if errors.Is(err, errGuest) {
			return 125
		}
		return 1
	}
	return code
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
