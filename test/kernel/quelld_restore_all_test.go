//go:build lab

// `quelld --restore-all` (what `make uninstall` runs after stopping quelld)
// takes away network shaping and project quotas too (issue #12 item 8):
// quelld shapes a Docker-laid-out container's veth and tags its overlay
// upperdir on XFS with a limited project, is stopped with SIGTERM (which
// leaves both in place), and restore-all must leave no quell IFB, filter or
// clsact on the veth, the upperdir in project 0, the project's limit cleared
// and its ID freed.
package kernel

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/limits/tc"
	"github.com/quell-dev/quell/test/labkit"
)

func TestQuelldRestoreAllRemovesShapingAndQuotas(t *testing.T) {
	labkit.Require(t)
	xfs := quotaMount(t, "QUELL_LAB_XFS")
	rnd := make([]byte, 32)
	if _, err := rand.Read(rnd); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(rnd)
	// The layer as Docker's overlay2 keeps it: quelld takes a layer only
	// from the runtime's storage records.
	upper, bundle := dockerLayer(t, xfs, "restore-all", id)
	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, ID: id, Name: "ra-web"})
	t.Cleanup(func() {
		root := []string{"--root", c.StateRoot}
		_ = exec.Command(labkit.Runc(), append(root, "kill", c.ID, "KILL")...).Run()
		_ = exec.Command(labkit.Runc(), append(root, "delete", "--force", c.ID)...).Run()
		// Before labkit's own cleanup, which removes the bundle.
		_ = unix.Unmount(filepath.Join(bundle, "rootfs"), unix.MNT_DETACH)
	})
	b := ndVethInto(t, c.InitPID, 61)

	q := startQuelld(t, fmt.Sprintf(`
[[tenant]]
name = "restore"
  [tenant.match]
  cgroups = [%q]
  [tenant.limits]
  net = { egress = "20Mbit", ingress = "30Mbit" }
  [tenant.container]
  disk = { bytes = "8MiB" }
`, strings.TrimPrefix(c.Cgroup, "/")))
	var project uint32
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		project, _ = projquota.ProjectID(upper)
		if project != 0 && len(quellTC(t, b.HostVeth)) >= 3 {
			break
		}
	}
	before := quellTC(t, b.HostVeth)
	lim, err := projquota.NewQuotas("").ProjectUsage(upper, project)
	t.Logf("FIGURE restore-all before: upperdir project %d limit %d (%v); tc %q", project, lim.Limit.Bytes, err, before)
	if project == 0 || lim.Limit.Bytes != 8<<20 || len(before) < 3 {
		t.Fatalf("quelld did not shape and tag: project %d, limit %d, tc %q\n%s", project, lim.Limit.Bytes, before, labkit.Tail(labkit.ReadFile(q.Log), 20))
	}
	q.stop() // SIGTERM: thaws, but leaves limits, shaping and quotas in place
	if after := quellTC(t, b.HostVeth); len(after) < 3 {
		t.Fatalf("stopping quelld already removed the shaping (%q): nothing left for restore-all to prove", after)
	}

	cmd := exec.Command("quelld", "--restore-all", "--config", filepath.Join(q.dir, "none.toml"),
		"--policy", filepath.Join(q.dir, "policy.d"), "--state-dir", filepath.Join(q.dir, "state"), "--socket", q.socket)
	out, err := cmd.CombinedOutput()
	t.Logf("quelld --restore-all: %v\n%s", err, out)
	if err != nil {
		t.Errorf("quelld --restore-all failed: %v", err)
	}
	left := quellTC(t, b.HostVeth)
	got, _ := projquota.ProjectID(upper)
	lim, _ = projquota.NewQuotas("").ProjectUsage(upper, project)
	ids := labkit.ReadFile(filepath.Join(q.dir, "state", projquota.ProjectIDFile))
	t.Logf("FIGURE restore-all after: tc %q; upperdir project %d; project %d limit bytes %d inodes %d; project-ids.json %s",
		left, got, project, lim.Limit.Bytes, lim.Limit.Inodes, strings.TrimSpace(ids))
	if len(left) > 0 {
		t.Errorf("quell's tc objects left after restore-all: %q", left)
	}
	if got != 0 {
		t.Errorf("upperdir still in project %d after restore-all", got)
	}
	if lim.Limit.Bytes != 0 || lim.Limit.Inodes != 0 {
		t.Errorf("project %d still limited after restore-all: %+v", project, lim.Limit)
	}
	var alloc struct{ Assigned map[string]uint32 }
	if err := json.Unmarshal([]byte(ids), &alloc); err == nil && len(alloc.Assigned) > 0 {
		t.Errorf("project IDs still allocated after restore-all: %v", alloc.Assigned)
	}
}

// quellTC lists quell's tc objects: IFBs aliased "quell tenant=…", and on
// the host veth a clsact qdisc and filters of quell's priority.
func quellTC(t *testing.T, veth string) []string {
	t.Helper()
	var out []string
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Type() == "ifb" && strings.HasPrefix(l.Attrs().Alias, "quell tenant=") {
			out = append(out, "ifb "+l.Attrs().Name)
		}
	}
	l, err := netlink.LinkByName(veth)
	if err != nil {
		t.Fatalf("host veth %s: %v", veth, err)
	}
	qs, _ := netlink.QdiscList(l)
	for _, q := range qs {
		if q.Type() == "clsact" {
			out = append(out, "clsact on "+veth)
		}
	}
	for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		fs, _ := netlink.FilterList(l, parent)
		for _, f := range fs {
			if f.Attrs().Priority == tc.NetFilterPrio {
				out = append(out, fmt.Sprintf("filter %x on %s", parent, veth))
			}
		}
	}
	return out
}
