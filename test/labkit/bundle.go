package labkit

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Busybox is the static busybox copied into every container rootfs:
// $QUELL_LAB_BUSYBOX, or /bin/busybox.
func Busybox() string {
	if b := os.Getenv("QUELL_LAB_BUSYBOX"); b != "" {
		return b
	}
	return "/bin/busybox"
}

// writeRootfs makes dir/rootfs: static busybox at /bin/busybox plus a link
// per applet, and the directories a container needs.
func writeRootfs(bundle, busybox string) error {
	root := filepath.Join(bundle, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root", "run", "var"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return fmt.Errorf("container rootfs: %w", err)
		}
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("container rootfs needs a static busybox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), b, 0o755); err != nil {
		return fmt.Errorf("container rootfs: %w", err)
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return fmt.Errorf("container rootfs: %w", err)
		}
	}
	return os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
}

// ociSpec is the container's config.json: busybox rootfs, its own pid,
// ipc, uts, mount, network and cgroup namespaces, and cgroupsPath.
// DockerDefaultCaps are the capabilities Docker (and containerd's CRI)
// give a container by default.
var DockerDefaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

func ociSpec(s ContainerSpec, p placement, cgroupsPath string) *specs.Spec {
	ro := []string{"nosuid", "noexec", "nodev", "ro"}
	caps := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}
	for _, c := range s.Caps {
		if !contains(caps, c) {
			caps = append(caps, c)
		}
	}
	return &specs.Spec{
		Version:  specs.Version,
		Hostname: s.ID[:12],
		Root:     &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			User:            specs.User{UID: 0, GID: 0},
			Args:            s.Args,
			Env:             []string{"PATH=/bin", "HOSTNAME=" + s.ID[:12]},
			Cwd:             "/",
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			NoNewPrivileges: true,
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: ro},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: ro},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
		},
		Annotations: p.Annotations,
		Linux: &specs.Linux{
			CgroupsPath: cgroupsPath,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			Resources:     ociResources(s),
			MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// ociResources are the container's cgroup limits as the runtime sets them
// (ContainerSpec's MemoryBytes, CPUQuota, CPUShares, PidsLimit).
func ociResources(s ContainerSpec) *specs.LinuxResources {
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	if s.MemoryBytes > 0 {
		m, swap := s.MemoryBytes, 2*s.MemoryBytes
		r.Memory = &specs.LinuxMemory{Limit: &m, Swap: &swap}
	}
	if s.CPUQuota > 0 {
		q, p := s.CPUQuota, s.CPUPeriod
		if p == 0 {
			p = 100000
		}
		r.CPU = &specs.LinuxCPU{Quota: &q, Period: &p}
	}
	if s.CPUShares > 0 {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		sh := s.CPUShares
		r.CPU.Shares = &sh
	}
	if s.PidsLimit > 0 {
		p := s.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &p}
	}
	return r
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// dockerStoreEntry is the part of Docker's config.v2.json that tools read.
func dockerStoreEntry(s ContainerSpec, pid int) map[string]any {
	return map[string]any{
		"ID":      s.ID,
		"Name":    "/" + s.Name,
		"Path":    s.Args[0],
		"Args":    s.Args[1:],
		"Driver":  "overlay2",
		"Created": "2026-01-01T00:00:00Z",
		"Config": map[string]any{
			"Hostname": s.ID[:12],
			"Image":    "busybox",
			"Cmd":      s.Args,
			"Labels":   nonNil(s.Labels),
		},
		"State": map[string]any{"Running": true, "Pid": pid},
	}
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
