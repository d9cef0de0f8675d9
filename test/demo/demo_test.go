//go:build lab

// Package demo is `make demo`: inside the lab VM (systemd mode) it starts
// quelld on a sample policy, starts sample tenants' containers with the
// real docker and podman CLIs (and a Kubernetes job placed as containerd's
// CRI plugin places it: no kubelet runs in the lab), lets a noisy
// neighbour loose and shows quell catching it — with quell's own CLI.
package demo

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

//go:embed demo-policy.toml
var policy string

func say(format string, args ...any) { fmt.Printf("\n\033[1m== "+format+"\033[0m\n", args...) }

func show(t *testing.T, q *labkit.Quelld, args ...string) string {
	t.Helper()
	fmt.Printf("$ quell %s\n", strings.Join(args, " "))
	out, err := q.Quell(args...)
	fmt.Print(out)
	if err != nil && !strings.Contains(strings.Join(args, " "), "status") {
		t.Fatalf("%v", err)
	}
	return out
}

func busy(n int) []string {
	return []string{"sh", "-c", fmt.Sprintf("for i in $(seq %d); do (while :; do :; done) & done; wait", n)}
}

// light is a container that wakes up often and does a little work.
var light = []string{"sh", "-c", "while :; do i=0; while [ $i -lt 200 ]; do i=$((i+1)); done; usleep 20000; done"}

func TestDemo(t *testing.T) {
	labkit.Require(t)
	b, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	say("a real cgroup v2 kernel: %s, controllers: %s", kernel(), strings.TrimSpace(string(b)))

	dir := t.TempDir()
	say("the sample policy (%d lines): 3 tenants, 1 rule, 1 detector", strings.Count(policy, "\n"))
	if err := os.WriteFile(filepath.Join(dir, "check.toml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	q := labkit.StartQuelld(t, dir, policy)
	show(t, q, "policy", "check", filepath.Join(dir, "policy.d"))

	say("start the host's real container engines: dockerd 20.10 and podman 4.3 + crun")
	t0 := time.Now()
	labkit.StartEngine(t, labkit.DockerEngine)
	labkit.StartEngine(t, labkit.PodmanEngine)
	fmt.Printf("  both up, image %s imported offline, in %.0fs\n", labkit.BusyboxImage, time.Since(t0).Seconds())

	say("sample containers, started the way their users start them")
	// acme-web asks Docker for 128 MiB; the policy would give each acme
	// container 192 MiB: the runtime's value is a ceiling quell keeps.
	run(t, labkit.DockerEngine, "acme-web", []string{"-m", "128m", "--label", "team=web"}, light...)
	run(t, labkit.DockerEngine, "acme-db", nil, "sleep", "3600")
	run(t, labkit.PodmanEngine, "ci-build-1", nil, busy(1)...)
	run(t, labkit.PodmanEngine, "ci-build-2", nil, busy(1)...)
	fmt.Println("  (no kubelet runs in the lab: the Kubernetes job is a runc container placed and annotated as containerd's CRI plugin does)")
	labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Containerd, Name: "report", Namespace: "batch", PodName: "nightly-report", Args: []string{"sleep", "3600"}})
	time.Sleep(4 * time.Second)
	show(t, q, "top", "--once", "-c")
	show(t, q, "explain", "acme-web")

	say("a noisy neighbour: a Kubernetes batch job starts 4 busy threads on this 2-CPU host")
	onset := time.Now()
	miner := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Containerd, Name: "miner", Namespace: "batch",
		PodName: "crunch-42", Args: busy(4)})
	var caught time.Duration
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if v := strings.TrimSpace(labkit.ReadFile(filepath.Join(miner.CgroupDir, "cpu.max"))); v != "max 100000" {
			caught = time.Since(onset)
			// On a line of its own, not after the progress line.
			fmt.Printf("\n  caught %.1fs after onset: cpu.max of %s is now %q\n", caught.Seconds(), miner.Cgroup, v)
			break
		}
		fmt.Printf("\r  waiting for quelld… %4.1fs  host cpu pressure: %s", time.Since(onset).Seconds(), cpuSome())
	}
	fmt.Println()
	if caught == 0 {
		show(t, q, "events", "-n", "20")
		t.Fatal("the noisy neighbour was not caught within 90s")
	}
	time.Sleep(3 * time.Second)
	show(t, q, "top", "--once", "-c")
	show(t, q, "events", "-n", "8")

	say("a cryptominer by name: a process called xmrig in a Docker container named acme-tools")
	// Not run(): quelld may evict it before docker inspect sees it running.
	xmArgs := []string{"run", "-d", "--name", "acme-tools", labkit.BusyboxImage,
		"sh", "-c", `printf '#!/bin/sh\nwhile :; do sleep 1; done\n' > /tmp/xmrig; chmod +x /tmp/xmrig; exec /tmp/xmrig`}
	fmt.Printf("$ docker %s\n", shellLine(xmArgs))
	out, err := labkit.EngineCmd(labkit.DockerEngine, xmArgs...)
	if err != nil {
		t.Fatalf("docker run acme-tools: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = labkit.EngineCmd(labkit.DockerEngine, "rm", "-f", "acme-tools") })
	xmID := strings.TrimSpace(out)
	xmStart := time.Now()
	evicted := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !evicted; time.Sleep(200 * time.Millisecond) {
		out, _ := q.Quell("events", "--json", "-n", "5")
		evicted = strings.Contains(out, `"kind":"evict"`) && strings.Contains(out, xmID)
	}
	if evicted {
		fmt.Printf("  evicted %.1fs after docker run returned\n", time.Since(xmStart).Seconds())
	}
	show(t, q, "events", "-n", "2")
	st, _ := labkit.EngineCmd(labkit.DockerEngine, "ps", "-a", "--filter", "name=acme-tools", "--format", "{{.Names}}: {{.Status}}")
	fmt.Printf("$ docker ps -a --filter name=acme-tools\n  %s\n", strings.TrimSpace(st))
	if !evicted {
		t.Error("the container running xmrig was not evicted within 30s")
	}

	say("quelld stops: nothing stays frozen; limits stay until the containers leave policy")
	q.Stop()
	frozen := 0
	_ = filepath.Walk("/sys/fs/cgroup", func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == "cgroup.freeze" && strings.TrimSpace(labkit.ReadFile(p)) == "1" {
			frozen++
		}
		return nil
	})
	fmt.Printf("frozen cgroups after stop: %d\n", frozen)
	if frozen != 0 {
		t.Errorf("%d cgroups left frozen", frozen)
	}
}

// run starts a container with the engine's own CLI, showing the command
// line as the user types it and how long the engine took.
func run(t *testing.T, e labkit.Engine, name string, opts []string, cmd ...string) *labkit.RealContainer {
	t.Helper()
	line := append(append([]string{"run", "-d", "--name", name}, opts...), labkit.BusyboxImage)
	line = append(line, cmd...)
	fmt.Printf("$ %s %s\n", e, shellLine(line))
	start := time.Now()
	c := labkit.RunReal(t, e, name, opts, cmd...)
	fmt.Printf("  %s %s in %.0fs\n", c.ID[:12], c.Cgroup, time.Since(start).Seconds())
	return c
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

func cpuSome() string {
	b, _ := os.ReadFile("/proc/pressure/cpu")
	f := strings.Fields(string(b))
	if len(f) > 1 {
		return f[1]
	}
	return "?"
}

// shellLine quotes args as a shell would need them.
func shellLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " ;$'\"\\\n") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
