//go:build lab

package systemd_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/systemd"
	"github.com/quell-dev/quell/test/labkit"
)

// Real Docker (dockerd 20.10, default bridge docker0, iptables off) with
// net and disk limits. Rates are read from the kernel's interface counters
// on the receiving side (what was delivered, not what a policer dropped),
// over a window after the stream has started.

const (
	netEgress  = 2_000_000 // bits/s
	netIngress = 6_000_000
	diskLimit  = 8 << 20
)

const netdiskPolicy = `
[[tenant]]
name = "shaped"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  names = ["net-*"]
  [tenant.container]
  net = { egress = "2Mbit", ingress = "6Mbit" }

[[tenant]]
name = "quota"
  [tenant.match]
  cgroups = ["system.slice/docker-*.scope"]
  names = ["disk-*"]
  [tenant.container]
  disk = { bytes = "8MiB" }
`

func dockerIP(t *testing.T, name string) string {
	t.Helper()
	out, err := labkit.EngineCmd(labkit.DockerEngine, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name)
	ip := strings.TrimSpace(out)
	if err != nil || ip == "" {
		t.Fatalf("docker inspect %s: %v %q", name, err, out)
	}
	return ip
}

// counter reads an interface counter, in a container (c != nil) or on the host.
func counter(t *testing.T, c *labkit.RealContainer, dev, stat string) uint64 {
	t.Helper()
	p := "/sys/class/net/" + dev + "/statistics/" + stat
	var s string
	if c != nil {
		out, err := c.Exec("cat", p)
		if err != nil {
			t.Fatalf("%s: cat %s: %v %s", c.Name, p, err, out)
		}
		s = out
	} else {
		s = labkit.ReadFile(p)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q", p, s)
	}
	return v
}

// rate is the bits/s the counter grew by over 6 s, after 3 s of warm-up.
func rate(t *testing.T, c *labkit.RealContainer, dev, stat string) float64 {
	t.Helper()
	time.Sleep(3 * time.Second)
	b0, t0 := counter(t, c, dev, stat), time.Now()
	time.Sleep(6 * time.Second)
	b1, t1 := counter(t, c, dev, stat), time.Now()
	return float64(b1-b0) * 8 / t1.Sub(t0).Seconds()
}

// stream sends zeros from one side (container or host) to the other over
// HTTP: the sender serves a 1 GiB sparse file with busybox httpd at
// fromIP:port, the receiver downloads it with busybox wget (busybox's small
// nc stops after its first read from a pipe, so it moves nothing useful).
// It returns the receiver's rate measured by its interface counter;
// everything is stopped afterwards.
func stream(t *testing.T, from, to *labkit.RealContainer, fromIP string, port int, dev, stat string) float64 {
	t.Helper()
	bb := labkit.Busybox()
	dir := fmt.Sprintf("/tmp/www%d", port)
	serve := fmt.Sprintf("mkdir -p %[1]s && dd if=/dev/zero of=%[1]s/big bs=1 count=0 seek=1073741824 2>/dev/null && exec httpd -f -p %[2]d -h %[1]s", dir, port)
	fetch := fmt.Sprintf("exec wget -q -O /dev/null http://%s:%d/big", fromIP, port)
	var host []*exec.Cmd
	start := func(c *labkit.RealContainer, script string) {
		if c != nil {
			if out, err := labkit.EngineCmd(labkit.DockerEngine, "exec", "-d", c.Name, "sh", "-c", script); err != nil {
				t.Fatalf("docker exec -d %s %s: %v %s", c.Name, script, err, out)
			}
			return
		}
		for _, applet := range []string{"httpd", "wget", "dd", "mkdir"} {
			script = strings.ReplaceAll(script, applet+" ", bb+" "+applet+" ")
		}
		cmd := exec.Command(bb, "sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		host = append(host, cmd)
	}
	start(from, serve)
	time.Sleep(time.Second)
	start(to, fetch)
	defer func() {
		for _, c := range []*labkit.RealContainer{from, to} {
			if c != nil {
				_, _ = c.Exec("killall", "httpd", "wget")
			}
		}
		for _, cmd := range host {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
		time.Sleep(500 * time.Millisecond)
	}()
	return rate(t, to, dev, stat)
}

// TestRealDockerBridgeShaping: two containers on docker0 in a tenant with
// per-container egress/ingress caps; a third outside the policy. Each flow's
// delivered rate is within [0.6, 1.1] of the cap that binds it.
func TestRealDockerBridgeShaping(t *testing.T) {
	installQuelld(t, netdiskPolicy)
	a := labkit.RunReal(t, labkit.DockerEngine, "net-a", nil)
	b := labkit.RunReal(t, labkit.DockerEngine, "net-b", nil)
	free := labkit.RunReal(t, labkit.DockerEngine, "free-c", nil)
	free2 := labkit.RunReal(t, labkit.DockerEngine, "free-d", nil)
	ipA, ipB, ipFree, ipFree2 := dockerIP(t, "net-a"), dockerIP(t, "net-b"), dockerIP(t, "free-c"), dockerIP(t, "free-d")
	// Wait until quelld shaped both (its view reports the caps).
	if !waitFor(40*time.Second, func() bool {
		v := topJSON(t)
		ca, cb := findContainer(v, a.ID), findContainer(v, b.ID)
		return ca != nil && cb != nil && ca.Tenant == "shaped" && cb.Tenant == "shaped" && shaped(a) && shaped(b)
	}) {
		out, _ := quell(t, "explain", "net-a")
		t.Fatalf("net-a/net-b not shaped within 40 s:\n%s\ntc on host:\n%s", out, tcShow())
	}
	t.Logf("host qdiscs:\n%s", tcShow())

	base := stream(t, free2, free, ipFree2, 5000, "eth0", "rx_bytes")
	t.Logf("FIGURE netdisk unshaped bridge free-d -> free-c: %.2f Mbit/s", base/1e6)
	check := func(what string, got, limit float64) {
		t.Logf("FIGURE netdisk %s: %.2f Mbit/s, limit %.2f Mbit/s (ratio %.2f)", what, got/1e6, limit/1e6, got/limit)
		if got < 0.6*limit || got > 1.1*limit {
			t.Errorf("%s: %.2f Mbit/s, want within [0.6, 1.1] x %.2f Mbit/s", what, got/1e6, limit/1e6)
		}
	}
	if base < 1.5*netIngress {
		t.Errorf("unshaped bridge rate %.2f Mbit/s is under 1.5x the ingress cap: the lab cannot tell shaping from its own speed", base/1e6)
	}
	// Same bridge, A's egress binds (B's ingress is higher).
	check("bridge net-a -> net-b (egress of net-a)", stream(t, a, b, ipA, 5001, "eth0", "rx_bytes"), netEgress)
	// Same bridge, sender unshaped: B's ingress binds.
	check("bridge free-c -> net-b (ingress of net-b)", stream(t, free, b, ipFree, 5002, "eth0", "rx_bytes"), netIngress)
	// Host -> B: ingress of B.
	check("host -> net-b (ingress)", stream(t, nil, b, "172.17.0.1", 5003, "eth0", "rx_bytes"), netIngress)
	// B -> host (docker0's rx counts what the bridge passed up to the host).
	check("net-b -> host (egress)", stream(t, b, nil, ipB, 5004, "docker0", "rx_bytes"), netEgress)
}

// shaped: the container's host veth has quell's clsact qdisc (its hooks
// redirect to the tenant's IFBs, see limits/tc).
func shaped(c *labkit.RealContainer) bool {
	out, err := c.Exec("cat", "/sys/class/net/eth0/iflink")
	if err != nil {
		return false
	}
	idx := strings.TrimSpace(out)
	links, _ := exec.Command("/usr/sbin/ip", "-o", "link").CombinedOutput()
	for _, l := range strings.Split(string(links), "\n") {
		if strings.HasPrefix(l, idx+": ") {
			dev := strings.Fields(l)[1]
			dev = strings.TrimSuffix(dev[:strings.Index(dev+"@", "@")], ":")
			qd, _ := exec.Command("/usr/sbin/tc", "qdisc", "show", "dev", dev).CombinedOutput()
			return strings.Contains(string(qd), "clsact")
		}
	}
	return false
}

func tcShow() string {
	q, _ := exec.Command("/usr/sbin/tc", "-s", "qdisc", "show").CombinedOutput()
	return string(q)
}

// TestRealDockerOverlayDiskQuota: a container whose overlay2 upperdir is
// under Docker's data-root on XFS (/mnt/xfs/docker) gets its own project
// with the byte limit: dd stops there (EDQUOT/ENOSPC), quotactl reports the
// usage, and the limit goes when the policy does.
func TestRealDockerOverlayDiskQuota(t *testing.T) {
	installQuelld(t, netdiskPolicy)
	c := labkit.RunReal(t, labkit.DockerEngine, "disk-1", nil)
	out, err := labkit.EngineCmd(labkit.DockerEngine, "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "disk-1")
	upper := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(upper, "/mnt/xfs/docker/overlay2/") {
		t.Fatalf("upperdir %q (%v): not below /mnt/xfs/docker/overlay2", out, err)
	}
	var id uint32
	if !waitFor(40*time.Second, func() bool { id, _ = projquota.ProjectID(upper); return id != 0 }) {
		ex, _ := quell(t, "explain", "disk-1")
		t.Fatalf("upperdir %s has no project ID after 40 s:\n%s", upper, ex)
	}
	q := projquota.NewQuotas("/proc/self/mountinfo")
	before, err := q.ProjectUsage(upper, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("project %d on %s: limit %+v", id, upper, before)
	ddOut, ddErr := c.Exec("dd", "if=/dev/zero", "of=/big", "bs=1048576", "count=32")
	after, err := q.ProjectUsage(upper, id)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(upper + "/big")
	size := int64(-1)
	if st != nil {
		size = st.Size()
	}
	t.Logf("FIGURE netdisk docker dd 32 MiB under a %d B quota: exit err %v, file %d B, project %d used %d B (quotactl); dd said: %s",
		diskLimit, ddErr, size, id, after.UsedBytes, strings.TrimSpace(ddOut))
	if ddErr == nil || !(strings.Contains(ddOut, "quota") || strings.Contains(ddOut, "space")) {
		t.Errorf("dd of 32 MiB under an 8 MiB quota did not fail with EDQUOT/ENOSPC: %v %s", ddErr, ddOut)
	}
	if after.UsedBytes > diskLimit || after.UsedBytes < diskLimit-(1<<20) {
		t.Errorf("project %d uses %d B, want at the limit %d B", id, after.UsedBytes, diskLimit)
	}
	// The policy without the disk tenant: the limit and the tag go.
	_, _ = c.Exec("rm", "/big")
	writePolicy(t, strings.Replace(netdiskPolicy, `names = ["disk-*"]`, `names = ["nothing-*"]`, 1))
	mustRun(t, "systemctl", "reload", systemd.UnitName)
	var left uint32
	if !waitFor(30*time.Second, func() bool { left, _ = projquota.ProjectID(upper); return left == 0 }) {
		t.Errorf("upperdir still in project %d 30 s after the policy dropped the disk limit", left)
	}
	lim, _ := q.ProjectUsage(upper, id)
	t.Logf("FIGURE netdisk after policy removal: upperdir project %d, old project %d limit %+v", left, id, lim)
	if lim.Limit.Bytes != 0 {
		t.Errorf("project %d still has a byte limit %d after the policy dropped it", id, lim.Limit.Bytes)
	}
	if out, err := c.Exec("dd", "if=/dev/zero", "of=/big", "bs=1048576", "count=16"); err != nil {
		t.Errorf("16 MiB write after the limit was removed failed: %v %s", err, out)
	}
}
