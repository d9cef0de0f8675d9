package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// qemuConfig is one guest boot.
type qemuConfig struct {
	Kernel    string
	Initramfs string
	Mode      string
	MemMiB    int
	CPUs      int
	Accel     string // tcg or kvm
	RunDir    string // console.log goes here
	JobDir    string // shared read-write as 9p tag "job"
	BinDir    string // shared read-only as 9p tag "bin"
	HostRoot  string // shared read-only as 9p tag "hostroot"
	Images    []string
	Disks     []disk
}

// qemuArgs returns the qemu-system-x86_64 arguments. The kernel console
// (ttyS0) goes to console.log; the command's output (ttyS1) goes to
// qemu's stdout, so the host sees it clean.
func qemuArgs(c qemuConfig) []string {
	appendLine := []string{"console=ttyS0", "loglevel=4", "panic=-1", "quell.mode=" + c.Mode}
	if c.Mode == modeSystemd {
		appendLine = append(appendLine, "systemd.unit=quell-lab.target", "systemd.show_status=1", "systemd.log_color=0",
			"systemd.unified_cgroup_hierarchy=1", "systemd.firstboot=0",
			// Debian's kernel enables AppArmor; dockerd then wants to load
			// its docker-default profile with apparmor_parser, which the lab
			// does not carry. With AppArmor off, `docker run` works as typed.
			"apparmor=0")
	}
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-m", fmt.Sprint(c.MemMiB), "-smp", fmt.Sprint(c.CPUs),
		"-kernel", c.Kernel, "-initrd", c.Initramfs, "-append", strings.Join(appendLine, " "),
		"-serial", "file:" + filepath.Join(c.RunDir, "console.log"),
		"-serial", "stdio",
		"-nic", "none",
		"-virtfs", "local,path=" + c.HostRoot + ",mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
		"-virtfs", "local,path=" + c.JobDir + ",mount_tag=job,security_model=none",
		"-virtfs", "local,path=" + c.BinDir + ",mount_tag=bin,security_model=none,readonly=on",
	}
	if c.Accel == "kvm" {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		args = append(args, "-accel", "tcg,thread=multi", "-cpu", "max")
	}
	for i, img := range c.Images {
		id := fmt.Sprintf("d%d", i)
		drive := "file=" + img + ",if=none,id=" + id + ",format=raw,cache=unsafe,discard=unmap"
		if extra := c.Disks[i].Drive; extra != "" {
			drive += "," + extra
		}
		args = append(args,
			"-drive", drive,
			"-device", "virtio-blk-pci,drive="+id+",serial="+c.Disks[i].Serial)
	}
	return args
}

// consoleTail returns the last n lines of the guest's kernel console.
func consoleTail(runDir string, n int) string {
	b, err := os.ReadFile(filepath.Join(runDir, "console.log"))
	if err != nil {
		return fmt.Sprintf("(no console log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(b), "\r", ""), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
