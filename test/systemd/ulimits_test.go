//go:build lab

package systemd_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/systemd"
	"github.com/quell-dev/quell/test/labkit"
)

// openFilesEnv makes the test binary, copied into a container, open
// /dev/null until refused and print "opened N ERRNO" (TestMain).
const openFilesEnv = "QUELL_LAB_OPENFILES"

// openFiles is the openFilesEnv mode.
func openFiles() int {
	n := 0
	var err error
	for ; n < 100000; n++ {
		var f *os.File
		if f, err = os.Open("/dev/null"); err != nil {
			break
		}
		defer f.Close()
	}
	name := "none"
	var errno syscall.Errno
	if errors.As(err, &errno) && errno == syscall.EMFILE {
		name = "EMFILE"
	} else if err != nil {
		name = err.Error()
	}
	fmt.Printf("opened %d %s\n", n, name)
	return 0
}

// The base policy takes Docker's containers without ulimits; the second
// adds them.
const ulimitsBase = `
[[tenant]]
name = "docker"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  [tenant.container]
  pids = 500
`

var ulimitsPolicy = ulimitsBase + "  ulimits = { nofile = 64, nproc = 512, core = 0 }\n"

// procLimit reads one line of /proc/<pid>/limits ("Max open files"):
// soft and hard as the kernel prints them.
func procLimit(pid int, name string) (soft, hard string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line[len(name):])
			if len(f) >= 2 {
				return f[0], f[1], nil
			}
		}
	}
	return "", "", fmt.Errorf("/proc/%d/limits: no %q", pid, name)
}

// waitLimit waits until pid's limit name is soft:hard and says how long
// that took.
func waitLimit(t *testing.T, pid int, name, soft, hard string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		s, h, err := procLimit(pid, name)
		if err == nil && s == soft && h == hard {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("PID %d %s = %s:%s (%v) after %v, want %s:%s", pid, name, s, h, err, within, soft, hard)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// execPID finds the process of cg whose command line is argv.
func execPID(t *testing.T, cgDir string, argv ...string) int {
	t.Helper()
	want := strings.Join(argv, "\x00") + "\x00"
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, f := range strings.Fields(labkit.ReadFile(filepath.Join(cgDir, "cgroup.procs"))) {
			var pid int
			fmt.Sscan(f, &pid)
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && string(b) == want {
				return pid
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no process %q in %s", argv, cgDir)
	return 0
}

// TestRealDockerUlimits: `docker run -d --name u1 bb:1 sleep 3600` on
// Debian's dockerd, then a policy with ulimits nofile=64, nproc=512,
// core=0: the container's init, a `docker exec -d` process (a child of
// the runtime's shim, started with Docker's default) and a shell exec'd
// later all end up at 64; a process that opens files gets EMFILE below
// 64; taking the ulimits out of the policy gives every process Docker's
// original back.
func TestRealDockerUlimits(t *testing.T) {
	installQuelld(t, ulimitsBase)
	d := labkit.RunReal(t, labkit.DockerEngine, "u1", nil)
	orig := map[string][2]string{}
	for _, name := range []string{"Max open files", "Max processes", "Max core file size"} {
		s, h, err := procLimit(d.PID, name)
		must(t, err)
		orig[name] = [2]string{s, h}
		t.Logf("FIGURE ulimits docker original %s %s:%s", name, s, h)
	}

	// quelld sees the policy file change (inotify) before the reload.
	start := time.Now()
	writePolicy(t, ulimitsPolicy)
	mustRun(t, "systemctl", "reload", systemd.UnitName)
	waitLimit(t, d.PID, "Max open files", "64", "64", 30*time.Second)
	t.Logf("FIGURE ulimits init nofile 64 %v after the policy was written", time.Since(start).Round(time.Millisecond))
	waitLimit(t, d.PID, "Max processes", "512", "512", 5*time.Second)
	waitLimit(t, d.PID, "Max core file size", "0", "0", 5*time.Second)

	// docker exec: a child of the shim, with Docker's default, until
	// quelld's next pass.
	if out, err := labkit.EngineCmd(labkit.DockerEngine, "exec", "-d", "u1", "sleep", "3601"); err != nil {
		t.Fatalf("docker exec -d: %v\n%s", err, out)
	}
	start = time.Now()
	pid := execPID(t, d.CgroupDir, "sleep", "3601")
	waitLimit(t, pid, "Max open files", "64", "64", 15*time.Second)
	t.Logf("FIGURE ulimits docker exec -d process nofile 64 %v after exec", time.Since(start).Round(time.Millisecond))

	out, _ := d.Exec("sh", "-c", "ulimit -n")
	t.Logf("FIGURE ulimits short docker exec 'ulimit -n' (no wait): %s", strings.TrimSpace(out))
	out, err := d.Exec("sh", "-c", "sleep 3; ulimit -n")
	if err != nil || strings.TrimSpace(out) != "64" {
		t.Errorf("docker exec sh -c 'sleep 3; ulimit -n' = %q, %v; want 64", out, err)
	}

	// A process that opens more than 64 files is refused.
	exe, err := os.Executable()
	must(t, err)
	if out, err := labkit.EngineCmd(labkit.DockerEngine, "cp", exe, "u1:/openfiles"); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	out, err = labkit.EngineCmd(labkit.DockerEngine, "exec", "-e", openFilesEnv+"=1", "u1", "sh", "-c", "sleep 3; exec /openfiles")
	t.Logf("FIGURE ulimits open files in the container: %s", strings.TrimSpace(out))
	var n int
	var errno string
	if _, serr := fmt.Sscanf(strings.TrimSpace(out), "opened %d %s", &n, &errno); serr != nil || err != nil || errno != "EMFILE" || n >= 64 || n < 50 {
		t.Errorf("open files = %q, %v; want EMFILE after fewer than 64", out, err)
	}

	x, _ := quell(t, "explain", d.ID)
	if !strings.Contains(x, "ulimit nofile") || !strings.Contains(x, orig["Max open files"][0]) {
		t.Errorf("quell explain shows no ulimit nofile with its original:\n%s", x)
	}
	for _, line := range strings.Split(x, "\n") {
		if strings.Contains(line, "ulimit ") {
			t.Logf("FIGURE ulimits explain: %s", strings.TrimSpace(line))
		}
	}

	// The policy stops setting ulimits: Docker's originals come back.
	start = time.Now()
	writePolicy(t, ulimitsBase)
	mustRun(t, "systemctl", "reload", systemd.UnitName)
	waitLimit(t, d.PID, "Max open files", orig["Max open files"][0], orig["Max open files"][1], 30*time.Second)
	t.Logf("FIGURE ulimits nofile restored to %s %v after the policy was written", orig["Max open files"][0], time.Since(start).Round(time.Millisecond))
	waitLimit(t, pid, "Max open files", orig["Max open files"][0], orig["Max open files"][1], 5*time.Second)
	for _, name := range []string{"Max processes", "Max core file size"} {
		waitLimit(t, d.PID, name, orig[name][0], orig[name][1], 5*time.Second)
	}

	// Set again, quelld stopped (the limits stay), `quelld --restore-all`
	// (an uninstall): the originals come back.
	writePolicy(t, ulimitsPolicy)
	mustRun(t, "systemctl", "reload", systemd.UnitName)
	waitLimit(t, pid, "Max open files", "64", "64", 30*time.Second)
	mustRun(t, "systemctl", "stop", systemd.UnitName)
	if s, _, _ := procLimit(d.PID, "Max open files"); s != "64" {
		t.Errorf("stopping quelld changed the limits: nofile %s", s)
	}
	mustRun(t, "quelld", "--restore-all", "--policy", labPolicyDir, "--metrics", "off")
	for _, p := range []int{d.PID, pid} {
		waitLimit(t, p, "Max open files", orig["Max open files"][0], orig["Max open files"][1], time.Second)
		waitLimit(t, p, "Max core file size", orig["Max core file size"][0], orig["Max core file size"][1], time.Second)
	}
	t.Logf("FIGURE ulimits quelld --restore-all gave init and exec'd process nofile %s back", orig["Max open files"][0])
}
