//go:build lab

package kernel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

const fakesPolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.limits]
  cpus = 2
  memory_low = "1GiB"
`

// The delegated subtree of uid 1000, as systemd's user@1000.service has it.
const userService = "user.slice/user-1000.slice/user@1000.service"

func (q *quelld) containers() []view.ContainerView {
	q.t.Helper()
	var cs []view.ContainerView
	out := q.quell("containers", "--json")
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		q.t.Fatalf("quell containers --json: %v\n%s", err, out)
	}
	return cs
}

// TestQuelldRefusesFakeContainersOfALocalUser: a local user (uid 1000)
// with a delegated cgroup subtree makes directories named after a tenant's
// real container (docker-<its id>.scope, under app.slice and under a
// system.slice of its own) and burns CPU in one; root-made directory
// docker/<its id> (Docker's cgroupfs place) borrows the same ID, but the
// container's runc state names its real cgroup. None of them is taken for
// the container: the real one keeps the whole tenant budget (cpu.max
// "200000 100000", memory.low 1 GiB, as if alone), the fakes get no limit
// written, and `quell containers` shows the victim's name on its real
// cgroup only.
func TestQuelldRefusesFakeContainersOfALocalUser(t *testing.T) {
	labkit.Require(t)
	victim := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "acme-victim"})
	id := victim.ID

	// systemd's delegation: user@1000.service and what it made below (its
	// init.scope holding the user's processes, app.slice) belong to uid 1000.
	dirs := labkit.DelegateCgroup(t, 1000, userService, userService+"/init.scope", userService+"/app.slice")
	svc := dirs[0]
	script := fmt.Sprintf(`set -e
S=%s
echo "+cpu +memory +pids" > $S/app.slice/cgroup.subtree_control
mkdir $S/app.slice/docker-%[2]s.scope
mkdir $S/system.slice
echo "+cpu +memory +pids" > $S/system.slice/cgroup.subtree_control
mkdir $S/system.slice/docker-%[2]s.scope
mkdir $S/docker
echo "+cpu +memory +pids" > $S/docker/cgroup.subtree_control
mkdir $S/docker/%[2]s
echo $$ > $S/app.slice/docker-%[2]s.scope/cgroup.procs
echo ready
while :; do :; done
`, svc, id)
	var out labkit.SyncBuffer
	labkit.StartAs(t, dirs[1], 1000, script, &out)
	for deadline := time.Now().Add(10 * time.Second); !labkit.Says(&out, "ready"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("uid 1000 could not make its fakes:\n%s", out.String())
		}
	}
	userFakes := []string{
		filepath.Join(svc, "app.slice/docker-"+id+".scope"),
		filepath.Join(svc, "system.slice/docker-"+id+".scope"),
		filepath.Join(svc, "docker", id),
	}
	for _, d := range userFakes {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fileUID(fi); uid != 1000 {
			t.Fatalf("%s is owned by uid %d, want the user's 1000", d, uid)
		}
	}
	// Root's look-alike: Docker's cgroupfs place for the same ID, with a
	// CPU burner; the runc state of that ID names system.slice/docker-<id>.scope.
	rootFake := labkit.NewCgroup(t, "docker/"+id)
	labkit.StartBusyLoop(t, rootFake)

	q := startQuelld(t, fakesPolicy)
	cpuMax := filepath.Join(victim.CgroupDir, "cpu.max")
	for deadline := time.Now().Add(15 * time.Second); labkit.ReadFile(cpuMax) == "max 100000"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("quelld wrote no cpu.max on the victim in 15 s\n%s", q.quell("containers"))
		}
	}
	time.Sleep(5 * time.Second) // several passes and an inotify rescan or two
	got := map[string]string{
		"cpu.max":    labkit.ReadFile(cpuMax),
		"memory.low": labkit.ReadFile(filepath.Join(victim.CgroupDir, "memory.low")),
	}
	t.Logf("FIGURE fakes victim cpu.max=%q memory.low=%q (alone: \"200000 100000\", 1073741824)", got["cpu.max"], got["memory.low"])
	if got["cpu.max"] != "200000 100000" || got["memory.low"] != "1073741824" {
		t.Errorf("victim's limits = %v, want the whole tenant budget (cpu.max \"200000 100000\", memory.low 1073741824): the fakes joined its split", got)
	}
	for _, d := range append(userFakes, rootFake) {
		if v := labkit.ReadFile(filepath.Join(d, "cpu.max")); v != "max 100000" {
			t.Errorf("%s cpu.max = %q, want untouched \"max 100000\"", d, v)
		}
		if v := labkit.ReadFile(filepath.Join(d, "memory.low")); v != "0" {
			t.Errorf("%s memory.low = %q, want untouched 0", d, v)
		}
	}
	var named []string
	for _, c := range q.containers() {
		if strings.HasPrefix(c.Cgroup, "user.slice/") {
			t.Errorf("quell containers lists %s (uid 1000's directory) as a container", c.Cgroup)
		}
		if c.Name == victim.Name || c.Tenant == "acme" || c.PID == victim.InitPID {
			named = append(named, c.Cgroup)
		}
		if c.Cgroup == "docker/"+id {
			t.Logf("root's look-alike: name %q tenant %q meta_error %q", c.Name, c.Tenant, c.MetaErr)
			if c.Name != "" || len(c.Labels) != 0 || c.Tenant != "" || !strings.Contains(c.MetaErr, "refused") {
				t.Errorf("docker/%s got name %q labels %v tenant %q (meta_error %q): want the victim's state refused", id[:12], c.Name, c.Labels, c.Tenant, c.MetaErr)
			}
		}
	}
	want := strings.TrimPrefix(victim.Cgroup, "/")
	if len(named) != 1 || named[0] != want {
		t.Errorf("cgroups with the victim's name, tenant or PID: %v, want only %s", named, want)
	}
}

func fileUID(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
