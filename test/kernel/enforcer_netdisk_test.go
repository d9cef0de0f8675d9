//go:build lab

// The enforcer's network shaping and disk quotas end to end, on a real
// kernel: a real runc container laid out as Docker lays it out (labkit),
// found, classified and limited by enforcer.Tick.
//
// What labkit does not give, this test adds the way the real tools do:
//   - network: labkit's container gets an empty network namespace; the test
//     then creates a veth pair and moves one end into it as eth0 (what a
//     CNI plugin or Docker's libnetwork does). The TCP source runs on a
//     thread of this test locked into the container's namespace: the bytes
//     cross the container's veth exactly as its own would.
//   - disk: the container's root is an overlay whose upperdir is in
//     Docker's layer store, /var/lib/docker/overlay2/<mount-id>/diff (a
//     directory of the lab's XFS scratch disk bound there), recorded in
//     Docker's layerdb (image/overlay2/layerdb/mounts/<id>/mount-id), as
//     Docker's overlay2 driver does, and mounted at the bundle's rootfs
//     before runc starts. The enforcer takes the layer from that record. The
//     container itself writes (runc exec dd), without CAP_SYS_RESOURCE, as
//     containers run.
package kernel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/enforcer/discover"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/test/labkit"
)

const (
	ndTenant    = "netdisk"
	ndEgressSet = 20_000_000 // bits/s, [tenant.limits] net egress
	ndDiskSet   = 8 << 20    // bytes, [tenant.limits] disk
)

func TestEnforcerNetDisk(t *testing.T) {
	labkit.Require(t)
	xfs := quotaMount(t, "QUELL_LAB_XFS")
	ctx := context.Background()
	rnd := make([]byte, 32)
	if _, err := rand.Read(rnd); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(rnd)

	// The writable layer on XFS, bound into Docker's layer store and
	// recorded in its layerdb, mounted where Docker's bundle rootfs is.
	upper, bundle := dockerLayer(t, xfs, "enforcer-netdisk", id)
	rootfs := filepath.Join(bundle, "rootfs")
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, ID: id, Name: "nd-web"})
	if c.Bundle != bundle {
		t.Fatalf("labkit put the bundle at %s, not %s where the overlay is", c.Bundle, bundle)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		root := []string{"--root", c.StateRoot}
		_ = exec.Command(labkit.Runc(), append(root, "kill", c.ID, "KILL")...).Run()
		if out, err := exec.Command(labkit.Runc(), append(root, "delete", "--force", c.ID)...).CombinedOutput(); err != nil {
			t.Errorf("runc delete: %v\n%s", err, out)
		}
	}
	t.Cleanup(func() { // before labkit's own cleanup: it removes the bundle
		stop()
		if err := unix.Unmount(rootfs, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", rootfs, err)
		}
	})

	b := ndVethInto(t, c.InitPID, 60)
	// A second container, root on /run (tmpfs): no project quota there.
	c2 := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "nd-tmpfs"})

	polDir := t.TempDir()
	policy := fmt.Sprintf(`
[[tenant]]
name = %q
  [tenant.match]
  cgroups = [%q]
  [tenant.limits]
  net = { egress = "20Mbit" }
  disk = { bytes = "8MiB" }

[[tenant]]
name = "nd-tmpfs"
  [tenant.match]
  cgroups = [%q]
  [tenant.container]
  disk = { bytes = "8MiB" }
`, ndTenant, strings.TrimPrefix(c.Cgroup, "/"), strings.TrimPrefix(c2.Cgroup, "/"))
	if err := os.WriteFile(filepath.Join(polDir, "10-netdisk.toml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	e, err := enforcer.New(enforcer.Config{CgroupRoot: labkit.Root(), ProcRoot: "/proc", StateDir: stateDir,
		PolicyPaths: []string{polDir}, Runtimes: discover.Roots{Run: "/run", Docker: "/var/lib/docker"},
		Logger: slog.New(slog.NewTextHandler(ndTestLog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tick0 := time.Now()
	e.Tick(ctx)
	t.Logf("FIGURE enforcer first tick (discover, shape, tag %s) %v", upper, time.Since(tick0).Round(time.Millisecond))
	cv := ndContainerView(t, e, c.Cgroup)
	if cv.Tenant != ndTenant || len(cv.Errors) > 0 {
		t.Fatalf("container: tenant %q, errors %q", cv.Tenant, cv.Errors)
	}
	var limitEvents, errorEvents []string
	for _, ev := range e.Events(0, 0) {
		switch ev.Kind {
		case "limit":
			limitEvents = append(limitEvents, ev.Reason+" → "+ev.After)
		case "error":
			errorEvents = append(errorEvents, ev.Target[:12]+": "+ev.Reason)
		}
	}
	cv2 := ndContainerView(t, e, c2.Cgroup)
	t.Logf("FIGURE enforcer tmpfs container errors %q; error events %q", cv2.Errors, errorEvents)
	if len(cv2.Errors) != 1 || !strings.Contains(cv2.Errors[0], "xfs and ext4") || len(errorEvents) != 1 {
		t.Errorf("container on tmpfs: errors %q, error events %q; want one clear quota error of each", cv2.Errors, errorEvents)
	}
	t.Logf("limit events: %q", limitEvents)
	if len(limitEvents) != 2 {
		t.Fatalf("want one limit event for net and one for disk, got %q", limitEvents)
	}

	// (a) Egress shaped to the tenant's rate, with the loop ticking.
	tickCtx, stopTicks := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for tickCtx.Err() == nil {
			e.Tick(tickCtx)
			select {
			case <-tickCtx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	r, first := measure(t, []*netBox{b}, true, 5*time.Second)
	stopTicks()
	wg.Wait()
	ratio := r / ndEgressSet
	seen := ndContainerView(t, e, c.Cgroup).Usage.NetTxBps
	t.Logf("FIGURE enforcer net egress set %d Mbit achieved %.2f Mbit/s ratio %.3f first-second %.2f Mbit; loop saw %.2f Mbit/s",
		ndEgressSet/1_000_000, r/1e6, ratio, first/1e6, seen/1e6)
	if ratio < 0.8 || ratio > 1.05 {
		t.Errorf("egress %.2f Mbit/s under a %d Mbit tenant limit: ratio %.3f outside [0.8, 1.05]", r/1e6, ndEgressSet/1_000_000, ratio)
	}
	if seen < 0.5*ndEgressSet || seen > 1.2*ndEgressSet {
		t.Errorf("the loop's NetTxBps %.2f Mbit/s is not near the shaped rate", seen/1e6)
	}

	// (b) The container's writes stop at the tenant's 8 MiB.
	pid, err := projquota.ProjectID(upper)
	if err != nil || pid == 0 {
		t.Fatalf("upperdir project ID %d, %v: not tagged", pid, err)
	}
	q := projquota.NewQuotas("")
	before, err := q.ProjectUsage(upper, pid)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(labkit.Runc(), "--root", c.StateRoot, "exec", c.ID,
		"dd", "if=/dev/zero", "of=/big", "bs=65536", "count=400").CombinedOutput()
	if err == nil {
		t.Fatalf("dd of 25 MiB under an 8 MiB quota succeeded:\n%s", out)
	}
	msg := strings.TrimSpace(string(out))
	if !strings.Contains(msg, "No space left on device") && !strings.Contains(msg, "Disk quota exceeded") {
		t.Errorf("dd failed, but not with ENOSPC/EDQUOT: %v\n%s", err, msg)
	}
	fi, err := os.Stat(filepath.Join(upper, "big"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := q.ProjectUsage(upper, pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURE enforcer disk project %d limit %d: layer held %d before, dd wrote %d, project used %d at the error (%.4f of the limit); dd said %q",
		pid, after.Limit.Bytes, before.UsedBytes, fi.Size(), after.UsedBytes, float64(after.UsedBytes)/ndDiskSet, ndErrLine(msg))
	if after.Limit.Bytes != ndDiskSet {
		t.Errorf("project limit %d, want %d", after.Limit.Bytes, ndDiskSet)
	}
	if after.UsedBytes < ndDiskSet*95/100 || after.UsedBytes > ndDiskSet {
		t.Errorf("project used %d at the error, want within [0.95, 1.0] of %d", after.UsedBytes, ndDiskSet)
	}
	e.Tick(ctx)
	var tv view.TenantView
	for _, x := range e.View().Tenants {
		if x.Name == ndTenant {
			tv = x
		}
	}
	t.Logf("FIGURE enforcer tenant view: disk %d bytes of %d, net tx %.2f Mbit/s", tv.Usage.DiskBytes, tv.Limits.DiskBytes, tv.Usage.NetTxBps/1e6)
	if tv.Usage.DiskBytes != int64(after.UsedBytes) {
		t.Errorf("tenant DiskBytes %d, want the project's %d", tv.Usage.DiskBytes, after.UsedBytes)
	}

	// (c) The container goes away: shaping and the project limit go too.
	stop()
	b.NS.Close() // the last reference besides the dead container's
	for range 3 {
		e.Tick(ctx)
		time.Sleep(200 * time.Millisecond)
	}
	if v := ndContainerView(t, e, c.Cgroup); v.Cgroup != "" {
		t.Fatalf("container still in the view after it was deleted: %+v", v.Container)
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Type() == "ifb" && strings.HasPrefix(l.Attrs().Alias, "quell tenant="+ndTenant+" ") {
			t.Errorf("IFB %s (%s) left behind", l.Attrs().Name, l.Attrs().Alias)
		}
	}
	if l, err := netlink.LinkByName(b.HostVeth); err == nil { // the netns may still be being torn down
		qs, _ := netlink.QdiscList(l)
		for _, q := range qs {
			if q.Type() == "clsact" {
				t.Errorf("clsact left on %s", b.HostVeth)
			}
		}
	}
	if got, err := projquota.ProjectID(upper); err != nil || got != 0 {
		t.Errorf("upperdir still in project %d (%v), want 0", got, err)
	}
	gone, err := q.ProjectUsage(upper, pid)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := os.ReadFile(filepath.Join(stateDir, projquota.ProjectIDFile))
	t.Logf("FIGURE enforcer after removal: project %d limit %+v used %d; %s: %s", pid, gone.Limit, gone.UsedBytes,
		projquota.ProjectIDFile, strings.Join(strings.Fields(string(ids)), " "))
	if gone.Limit != (projquota.ProjectLimit{}) {
		t.Errorf("project %d still limited: %+v", pid, gone.Limit)
	}
	if strings.Contains(string(ids), "tenant:"+ndTenant) || strings.Contains(string(ids), "container:") {
		t.Errorf("project ID still allocated: %s", ids)
	}
}

// ndVethInto gives the container whose init is pid a veth pair, as a CNI
// plugin would: host side qnd<n> 10.77.<n>.1/30, eth0 10.77.<n>.2/30 inside.
func ndVethInto(t *testing.T, pid, n int) *netBox {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatalf("netns of %d: %v", pid, err)
	}
	b, err := labkit.JoinNetBox(ns, fmt.Sprintf("qnd%d", n), fmt.Sprintf("10.77.%d.1", n), fmt.Sprintf("10.77.%d.2", n))
	if err != nil {
		ns.Close()
		t.Fatal(err)
	}
	t.Cleanup(b.Close) // a second Close (the test closes the handle early) is harmless
	return b
}

func ndContainerView(t *testing.T, e *enforcer.Enforcer, cgroup string) view.ContainerView {
	t.Helper()
	for _, c := range e.View().Containers {
		if "/"+c.Cgroup == cgroup {
			return c
		}
	}
	return view.ContainerView{}
}

// ndErrLine is dd's error line (the one naming the errno).
func ndErrLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "dd:") {
			return l
		}
	}
	return s
}

// ndTestLog sends the enforcer's log to the test log.
type ndTestLog struct{ t *testing.T }

var _ io.Writer = ndTestLog{}

func (w ndTestLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
