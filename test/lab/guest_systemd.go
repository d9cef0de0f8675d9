package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const systemdUnitDir = "/etc/systemd/system"

// labTarget is the default target in systemd mode (systemd.unit= on the
// kernel command line): a normal multi-user boot plus the lab command.
const labTarget = `[Unit]
Description=quell lab: multi-user system plus the lab command
Requires=multi-user.target
After=multi-user.target
Wants=quell-lab.service
AllowIsolate=yes
`

// labService runs the command once the system is up. Type=exec lets the
// boot finish (is-system-running says "running") while the command runs;
// either way the guest powers off when it ends.
const labService = `[Unit]
Description=quell lab command
After=multi-user.target

[Service]
Type=exec
Environment=QUELL_LAB_UNIT=1
ExecStart=` + guestLabBin + ` guest-run
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
SuccessAction=poweroff-immediate
FailureAction=poweroff-immediate
`

// maskedUnits make no sense in a throwaway guest: they would wait for
// devices or the network it does not have, or start the host's daemons.
// Units the host enabled in /etc/systemd/system/*.wants are masked too
// (see hostEnabledUnits).
var maskedUnits = []string{
	"getty@.service", "serial-getty@.service", "console-getty.service", "getty.target",
	"systemd-timesyncd.service", "systemd-networkd-wait-online.service",
	"NetworkManager-wait-online.service", "systemd-pstore.service",
	"systemd-firstboot.service", "systemd-random-seed.service", "systemd-remount-fs.service",
	"apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "e2scrub_all.timer",
	"fstrim.timer", "dpkg-db-backup.timer", "ssh.service", "cron.service",
	"docker.service", "docker.socket", "containerd.service", "remote-fs.target",
	"systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount", "sys-kernel-debug.mount",
	"sys-kernel-tracing.mount", "sys-fs-fuse-connections.mount", "modprobe@fuse.service",
}

// keepUnits are host-enabled units the guest needs.
var keepUnits = map[string]bool{"dbus.service": true, "dbus.socket": true,
	"systemd-logind.service": true, "systemd-journald.service": true}

// execSystemd installs the lab units and masks into the overlay (never the
// host) and execs systemd as PID 1.
func execSystemd() error {
	files := map[string]string{
		"/etc/fstab":                          "# quell lab: the lab mounts its own disks\n",
		"/etc/hostname":                       guestHostname + "\n",
		systemdUnitDir + "/quell-lab.target":  labTarget,
		systemdUnitDir + "/quell-lab.service": labService,
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	for _, u := range append(maskedUnits, hostEnabledUnits(systemdUnitDir)...) {
		if keepUnits[u] {
			continue
		}
		p := filepath.Join(systemdUnitDir, u)
		_ = os.Remove(p)
		if err := os.Symlink("/dev/null", p); err != nil {
			return fmt.Errorf("mask %s: %w", u, err)
		}
	}
	// systemd takes the host's container marker for its own and would then
	// ignore the kernel command line: the guest is a VM, not a container.
	for _, marker := range []string{"/.dockerenv", "/run/.containerenv"} {
		if err := os.Remove(marker); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove container marker %s: %w", marker, err)
		}
	}
	def := filepath.Join(systemdUnitDir, "default.target")
	_ = os.Remove(def)
	if err := os.Symlink("quell-lab.target", def); err != nil {
		return fmt.Errorf("set default target: %w", err)
	}
	const systemd = "/lib/systemd/systemd"
	err := syscall.Exec(systemd, []string{systemd}, []string{"TERM=dumb"})
	return fmt.Errorf("exec %s (install the systemd package: bin/lab prereqs): %w", systemd, err)
}

// hostEnabledUnits lists unit names enabled in dir/*.wants on the host.
func hostEnabledUnits(dir string) []string {
	links, _ := filepath.Glob(filepath.Join(dir, "*.wants", "*"))
	var out []string
	for _, l := range links {
		name := filepath.Base(l)
		if strings.Contains(name, ".") {
			out = append(out, name)
		}
	}
	return out
}
