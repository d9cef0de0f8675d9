package enforcer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/limits/tc"
)

// fakeShaper is an in-memory NetShaper.
type fakeShaper struct {
	mu       sync.Mutex
	nets     map[string]tc.NetInfo // nsPath → info
	netErr   map[string]error      // nsPath → error
	lookups  int
	applies  []string // "id veth spec"
	removes  []string
	shaped   map[string]tc.NetSpec
	counters map[string]tc.NetUsage // veth → counters
}

var _ NetShaper = (*fakeShaper)(nil)

func newFakeShaper() *fakeShaper {
	return &fakeShaper{nets: map[string]tc.NetInfo{}, netErr: map[string]error{},
		shaped: map[string]tc.NetSpec{}, counters: map[string]tc.NetUsage{}}
}

func (f *fakeShaper) Network(ns string) (tc.NetInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if err := f.netErr[ns]; err != nil {
		return tc.NetInfo{}, err
	}
	info, ok := f.nets[ns]
	if !ok {
		return info, fmt.Errorf("open netns %s: %w", ns, os.ErrNotExist)
	}
	return info, nil
}

func (f *fakeShaper) Apply(_ context.Context, id, veth string, s tc.NetSpec) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies = append(f.applies, fmt.Sprintf("%s %s %+v", id, veth, s))
	if f.shaped[id] == s {
		return false, nil
	}
	f.shaped[id] = s
	return true, nil
}

func (f *fakeShaper) Remove(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removes = append(f.removes, id)
	_, ok := f.shaped[id]
	delete(f.shaped, id)
	return ok, nil
}

func (f *fakeShaper) Usage(_ context.Context, veth string) (tc.NetUsage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.counters[veth]
	if !ok {
		return u, errors.New("no such veth " + veth)
	}
	return u, nil
}

func (f *fakeShaper) calls() (applies, removes []string, lookups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.applies...), append([]string(nil), f.removes...), f.lookups
}

// fakeQuotas is an in-memory DiskQuotas. Every path is on device 1 unless
// devs says otherwise; Check fails for paths in off.
type fakeQuotas struct {
	mu      sync.Mutex
	off     map[string]error
	devs    map[string]uint64
	tags    map[string]uint32                 // dir → project
	limit   map[uint32]projquota.ProjectLimit // project → limit
	used    map[uint32]uint64
	ids     map[string]uint32
	next    uint32
	writes  []string // every mutating call
	cleared []uint32
}

var _ DiskQuotas = (*fakeQuotas)(nil)

func newFakeQuotas() *fakeQuotas {
	return &fakeQuotas{off: map[string]error{}, devs: map[string]uint64{}, tags: map[string]uint32{},
		limit: map[uint32]projquota.ProjectLimit{}, used: map[uint32]uint64{}, ids: map[string]uint32{}, next: 100000}
}

func (f *fakeQuotas) Check(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.off[p]
}

func (f *fakeQuotas) Device(p string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := os.Stat(p); err != nil {
		return 0, err
	}
	if d, ok := f.devs[p]; ok {
		return d, nil
	}
	return 1, nil
}

func (f *fakeQuotas) Assign(dir string, id uint32, l projquota.ProjectLimit) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, fmt.Sprintf("assign %s %d %d", dir, id, l.Bytes))
	f.tags[dir], f.limit[id] = id, l
	return nil
}

func (f *fakeQuotas) Untag(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, "untag "+dir)
	delete(f.tags, dir)
	return nil
}

func (f *fakeQuotas) ClearLimit(_ string, id uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, fmt.Sprintf("clear %d", id))
	f.cleared = append(f.cleared, id)
	delete(f.limit, id)
	return nil
}

func (f *fakeQuotas) Usage(_ string, id uint32) (projquota.ProjectQuota, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return projquota.ProjectQuota{ID: id, UsedBytes: f.used[id], Limit: f.limit[id]}, nil
}

func (f *fakeQuotas) Allocate(key string) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.ids[key]; ok {
		return id, nil
	}
	f.writes = append(f.writes, "allocate "+key)
	f.ids[key] = f.next
	f.next++
	return f.ids[key], nil
}

func (f *fakeQuotas) Lookup(key string) (uint32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.ids[key]
	return id, ok
}

func (f *fakeQuotas) Free(key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, "free "+key)
	delete(f.ids, key)
	return nil
}

func (f *fakeQuotas) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

// runningContainer makes a Docker container (see fakeHost.container) with
// init PID pid, a bundle with a rootfs, and procRoot/<pid>/mountinfo
// whose root is an overlay with its upperdir in the temp dir. It returns
// the cgroup and the upperdir.
func (h *fakeHost) runningContainer(id, name string, pid int) (cg, upper string) {
	cg = h.container(id, name, 0)
	bundle := filepath.Join(h.root, "bundles", id)
	must(h.t, os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755))
	upper = filepath.Join(h.root, "docker/overlay2", id, "diff") // in Docker's layer store
	must(h.t, os.MkdirAll(upper, 0o755))
	h.file("run/docker/runtime-runc/moby/"+id+"/state.json",
		fmt.Sprintf(`{"id":%q,"init_process_pid":%d,"config":{"cgroups":{"path":"/%s"},"labels":["bundle=%s"]}}`, id, pid, cg, bundle))
	h.file(fmt.Sprintf("proc/%d/cgroup", pid), "0::/"+cg+"\n")
	h.file(fmt.Sprintf("proc/%d/mountinfo", pid), fmt.Sprintf(
		"700 600 0:55 / / rw,relatime master:300 - overlay overlay rw,lowerdir=/l/A:/l/B,upperdir=%s,workdir=/w\n"+
			"701 700 0:60 / /proc rw,nosuid - proc proc rw\n", upper))
	return cg, upper
}

// netnsOf is the path the loop looks up for pid's network.
func (h *fakeHost) netnsOf(pid int) string {
	return filepath.Join(h.root, "proc", fmt.Sprint(pid), "ns/net")
}

// gone removes a container's cgroup (the loop notices on its next reads).
func (h *fakeHost) gone(t *testing.T, cg string) {
	must(t, os.RemoveAll(filepath.Join(h.cg, cg)))
}
