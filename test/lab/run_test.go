package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestJobRoundTripAndStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := job{Mode: modeSystemd, Command: "echo 'hi'; exit 3", Env: baseEnv(modeSystemd), Disks: []disk{scratchDisks[0].disk}}
	if err := writeJob(dir, j); err != nil {
		t.Fatal(err)
	}
	got, err := readJob(dir)
	if err != nil || got.Command != j.Command || got.Disks[0].Serial != "quell-xfs" || !slices.Contains(got.Env, "QUELL_LAB=1") {
		t.Fatalf("readJob = %+v, %v", got, err)
	}
	if _, err := readStatus(dir); err == nil {
		t.Fatal("missing status read as success: a guest that died must fail")
	}
	if err := writeStatus(dir, 3); err != nil {
		t.Fatal(err)
	}
	if code, err := readStatus(dir); err != nil || code != 3 {
		t.Fatalf("readStatus = %d, %v; want 3", code, err)
	}
	os.WriteFile(filepath.Join(dir, statusFile), []byte("garbage"), 0o644)
	if _, err := readStatus(dir); err == nil {
		t.Fatal("garbage status accepted")
	}
}

func TestQemuArgsSeparateConsoleAndOutput(t *testing.T) {
	t.Parallel()
	c := qemuConfig{Kernel: "/boot/k", Initramfs: "/c/i.img", Mode: modeSystemd, MemMiB: 1536, CPUs: 2, Accel: "tcg",
		RunDir: "/r", JobDir: "/r/job", BinDir: "/repo/bin", HostRoot: "/", Images: []string{"/r/xfs.img"},
		Disks: []disk{scratchDisks[0].disk}}
	a := strings.Join(qemuArgs(c), " ")
	for _, want := range []string{
		"-serial file:/r/console.log -serial stdio", // ttyS0 console to a file, ttyS1 command output to stdout
		"quell.mode=systemd", "systemd.unit=quell-lab.target", "-accel tcg,thread=multi -cpu max",
		"mount_tag=hostroot,security_model=none,readonly=on", "path=/r/job,mount_tag=job",
		"path=/repo/bin,mount_tag=bin,security_model=none,readonly=on",
		"virtio-blk-pci,drive=d0,serial=quell-xfs", "-no-reboot", "-m 1536",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("qemu args lack %q:\n%s", want, a)
		}
	}
	c.Accel, c.Mode = "kvm", modeFast
	a = strings.Join(qemuArgs(c), " ")
	if !strings.Contains(a, "-accel kvm -cpu host") || strings.Contains(a, "systemd.unit") {
		t.Errorf("fast kvm args wrong: %s", a)
	}
}

func TestInitramfsCachedByInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mk := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mods := filepath.Join(dir, "mods")
	os.MkdirAll(filepath.Join(mods, "kernel"), 0o755)
	os.WriteFile(filepath.Join(mods, "kernel/a.ko"), []byte("ko"), 0o644)
	in := initramfsInputs{Kernel: kernel{Version: "6.1", ModDir: mods}, Modules: []module{{Name: "a", Path: "kernel/a.ko"}},
		Init: mk("init", "v1"), Busybox: mk("busybox", "bb")}
	cache := filepath.Join(dir, "cache")
	p1, built, err := buildInitramfs(cache, in)
	if err != nil || !built {
		t.Fatalf("first build: %v built=%v", err, built)
	}
	if p2, built, _ := buildInitramfs(cache, in); built || p2 != p1 {
		t.Fatalf("same inputs rebuilt: %s %v", p2, built)
	}
	mk("init", "v2")
	if p3, built, _ := buildInitramfs(cache, in); !built || p3 == p1 {
		t.Fatalf("changed lab binary did not rebuild: %s %v", p3, built)
	}
	in.Busybox = filepath.Join(dir, "nosuch")
	if _, _, err := buildInitramfs(cache, in); err == nil {
		t.Fatal("missing busybox built an image")
	}
}
