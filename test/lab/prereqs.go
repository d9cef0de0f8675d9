package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// debianName is Debian policy's package name syntax (§5.6.1); anything
// else, e.g. an option-looking "-y", is refused before apt-get sees it.
var debianName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// hostPackages are the Debian packages the lab needs on the host.
var hostPackages = []string{
	"qemu-system-x86", "linux-image-amd64", "busybox-static", "xfsprogs", "e2fsprogs",
	"iproute2", "runc", "kmod", "systemd", "dbus", "util-linux", "cpio",
	// The real engines the systemd-mode tests start (labkit.StartEngine).
	"docker.io", "containerd", "podman", "crun",
	// promtool for make rules; the real Prometheus of the systemd-mode test
	// that scrapes quelld (test/systemd/prometheus_test.go).
	"prometheus",
	// cmd/quell-docs' unit tests parse the completions in each shell and
	// the man pages in groff; test/systemd/deb_test.go asks man for them.
	"zsh", "fish", "groff-base", "man-db",
}

// missingPackages asks dpkg-query which of pkgs are not installed.
func missingPackages(pkgs []string) ([]string, error) {
	var missing []string
	for _, p := range pkgs {
		out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", p).Output()
		if err != nil || strings.TrimSpace(string(out)) != "installed" {
			if _, lookErr := exec.LookPath("dpkg-query"); lookErr != nil {
				return nil, fmt.Errorf("dpkg-query not found: the lab needs a Debian-like host")
			}
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// prereqs installs the missing host packages (and extra ones) with
// apt-get, as root or through sudo. It does nothing (quickly) when all are
// present.
func prereqs(log io.Writer, extra ...string) error {
	for _, p := range extra {
		if !debianName.MatchString(p) {
			return fmt.Errorf("%q is not a Debian package name (lowercase letters, digits, + - . ; at least 2 characters)", p)
		}
	}
	missing, err := missingPackages(append(append([]string{}, hostPackages...), extra...))
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		fmt.Fprintln(log, "lab: prerequisites present")
		return nil
	}
	fmt.Fprintf(log, "lab: installing %s\n", strings.Join(missing, " "))
	var prefix []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return fmt.Errorf("missing packages %s; not root and no sudo: run as root: apt-get install %s",
				strings.Join(missing, " "), strings.Join(missing, " "))
		}
		prefix = []string{"sudo", "-n"}
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	update := append(append([]string{}, prefix...), "apt-get", "update", "-q")
	install := append(append([]string{}, prefix...), "apt-get", "install", "-y", "-q", "--no-install-recommends")
	install = append(install, missing...)
	for _, argv := range [][]string{update, install} {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w (missing: %s)", strings.Join(argv, " "), err, strings.Join(missing, " "))
		}
	}
	return nil
}
