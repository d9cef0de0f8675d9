package labkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lab's real container engines (Debian's docker.io and podman + crun,
// installed on the host by `bin/lab prereqs` and seen by the guest through
// its read-only root). The lab masks their units at boot; these helpers
// start them on request in systemd mode, with their storage on the XFS
// scratch disk (overlay2 and podman's overlay refuse the guest's overlay
// root), and import an offline image, BusyboxImage, made from the host's
// busybox-static.

// BusyboxImage is the image the real engines run: busybox-static and its
// applets, imported offline (no registry is reachable from the lab).
const BusyboxImage = "bb:1"

// Engine is a real container engine's CLI.
type Engine string

const (
	// DockerEngine is dockerd 20.10 with data-root /mnt/xfs/docker.
	DockerEngine Engine = "docker"
	// PodmanEngine is podman 4.3 with crun, graphroot /mnt/xfs/podman.
	PodmanEngine Engine = "podman"
)

// engineBins are called by full path: /usr/local/bin may hold another
// docker client on a development host.
var engineBins = map[Engine]string{DockerEngine: "/usr/bin/docker", PodmanEngine: "/usr/bin/podman"}

var (
	engineMu    sync.Mutex
	engineReady = map[Engine]bool{}
)

// RealContainer is a container a real engine started.
type RealContainer struct {
	Engine    Engine
	ID, Name  string
	Cgroup    string // below the cgroup root, leading "/"
	CgroupDir string // absolute
	PID       int    // init PID on the host
}

// StartEngine starts e (once per test binary) and imports BusyboxImage. It
// fails the test outside the lab's systemd mode or when the engine does not
// come up, with the engine's own words.
func StartEngine(t testing.TB, e Engine) {
	t.Helper()
	if os.Getenv("QUELL_LAB") != "1" {
		t.Fatal("not in the lab (QUELL_LAB!=1): real engines run only in the lab's systemd mode")
	}
	if err := startEngine(e); err != nil {
		t.Fatal(err)
	}
}

func startEngine(e Engine) error {
	engineMu.Lock()
	defer engineMu.Unlock()
	if engineReady[e] {
		return nil
	}
	if !systemdIsInit() {
		return fmt.Errorf("%s needs the lab's systemd mode (bin/lab run --mode systemd)", e)
	}
	if _, err := os.Stat(engineBins[e]); err != nil {
		return fmt.Errorf("%s: %w (bin/lab prereqs installs docker.io, podman, crun, containerd)", engineBins[e], err)
	}
	switch e {
	case DockerEngine:
		for _, u := range []string{"docker.service", "docker.socket", "containerd.service"} {
			_ = os.Remove(filepath.Join("/etc/systemd/system", u)) // the lab's mask, in the guest's overlay
		}
		if err := writeFiles(map[string]string{
			"/etc/docker/daemon.json": `{"data-root":"/mnt/xfs/docker","iptables":false}` + "\n",
		}); err != nil {
			return err
		}
		if err := runCmd("systemctl", "daemon-reload"); err != nil {
			return err
		}
		if err := runCmd("systemctl", "start", "docker.service"); err != nil {
			out, _ := exec.Command("journalctl", "-u", "docker", "-n", "30", "--no-pager").CombinedOutput()
			return fmt.Errorf("start dockerd: %w\n%s", err, out)
		}
	case PodmanEngine:
		if err := writeFiles(map[string]string{
			"/etc/containers/storage.conf": "[storage]\ndriver = \"overlay\"\ngraphroot = \"/mnt/xfs/podman\"\nrunroot = \"/run/containers/storage\"\n",
		}); err != nil {
			return err
		}
		// podman's API service, socket-activated as Debian enables it:
		// where quelld asks for names and labels.
		for _, u := range []string{"podman.service", "podman.socket"} {
			_ = os.Remove(filepath.Join("/etc/systemd/system", u))
		}
		if err := runCmd("systemctl", "daemon-reload"); err != nil {
			return err
		}
		if err := runCmd("systemctl", "start", "podman.socket"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown engine %q", e)
	}
	if err := importBusybox(e); err != nil {
		return err
	}
	engineReady[e] = true
	return nil
}

// importBusybox makes BusyboxImage from a directory holding busybox-static
// and its applet links.
func importBusybox(e Engine) error {
	dir, err := os.MkdirTemp("", "labkit-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeRootfs(dir, Busybox()); err != nil {
		return err
	}
	archive := filepath.Join(dir, "image.tar")
	if err := runCmd("tar", "-C", filepath.Join(dir, "rootfs"), "-cf", archive, "."); err != nil {
		return err
	}
	if out, err := exec.Command(engineBins[e], "import", archive, BusyboxImage).CombinedOutput(); err != nil {
		return fmt.Errorf("%s import %s: %w\n%s", e, archive, err, out)
	}
	return nil
}

// StopPodmanAPI stops podman's API service (its socket and the service it
// started), as on a host that never enabled it.
func StopPodmanAPI() error {
	return runCmd("systemctl", "stop", "podman.socket", "podman.service")
}

// RunReal runs `<engine> run -d --name name opts... bb:1 cmd...` exactly as
// a user types it (cmd defaults to sleep 3600) and waits for its cgroup.
// The container is removed (rm -f) at cleanup.
func RunReal(t testing.TB, e Engine, name string, opts []string, cmd ...string) *RealContainer {
	t.Helper()
	StartEngine(t, e)
	if len(cmd) == 0 {
		cmd = []string{"sleep", "3600"}
	}
	args := append(append([]string{"run", "-d", "--name", name}, opts...), BusyboxImage)
	args = append(args, cmd...)
	out, err := exec.Command(engineBins[e], args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", e, strings.Join(args, " "), err, out)
	}
	t.Cleanup(func() { _ = exec.Command(engineBins[e], "rm", "-f", name).Run() })
	c, err := InspectReal(e, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// InspectReal asks the engine for name's ID and init PID and finds its
// cgroup from /proc/<pid>/cgroup (podman + crun run the process in a
// "container" child of the libpod scope: the scope is the container's
// cgroup).
func InspectReal(e Engine, name string) (*RealContainer, error) {
	out, err := exec.Command(engineBins[e], "inspect", "-f", "{{.Id}} {{.State.Pid}}", name).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s inspect %s: %w\n%s", e, name, err, out)
	}
	var c RealContainer
	if _, err := fmt.Sscan(string(out), &c.ID, &c.PID); err != nil || c.PID <= 0 {
		return nil, fmt.Errorf("%s inspect %s: %q: no running init", e, name, out)
	}
	c.Engine, c.Name = e, name
	cg := procCgroup(c.PID)
	if i := strings.Index(cg, "-"+c.ID+".scope"); i >= 0 {
		cg = cg[:i+len("-"+c.ID+".scope")]
	}
	c.Cgroup, c.CgroupDir = cg, filepath.Join(Root(), cg)
	return &c, nil
}

// Exec runs `<engine> exec name argv...` and returns its combined output.
func (c *RealContainer) Exec(argv ...string) (string, error) {
	out, err := exec.Command(engineBins[c.Engine], append([]string{"exec", c.Name}, argv...)...).CombinedOutput()
	return string(out), err
}

// EngineCmd runs `<engine> args...` (e.g. update --memory 48m NAME).
func EngineCmd(e Engine, args ...string) (string, error) {
	out, err := exec.Command(engineBins[e], args...).CombinedOutput()
	return string(out), err
}

// WaitCgroupFile waits until the container's file holds want (trimmed).
func (c *RealContainer) WaitCgroupFile(file, want string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got := strings.TrimSpace(ReadFile(filepath.Join(c.CgroupDir, file)))
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s: %s = %q after %v, want %q", c.Engine, c.Name, file, got, within, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeFiles(files map[string]string) error {
	for path, body := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func runCmd(argv ...string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}
