package enforcer

// Disk quotas in the loop: XFS/ext4 project quotas over each container's
// writable layer (see discover.Roots.Layer) plus the policy's volume
// directories.
//
// Which project a container's files go to:
//   - [tenant.container] disk (per-container cap): the container gets its
//     own project, key "container:<cgroup>", limited to the cap.
//   - [tenant.limits] disk only (aggregate): every container of the tenant
//     goes into one project, key "tenant:<name>", limited to the aggregate.
//     A project quota is per filesystem, so this is an aggregate only while
//     the tenant's writable layers share one filesystem: a container whose
//     layer is on another filesystem than the tenant's project gets an error
//     and no limit (never a second, separate "aggregate"). Its usage is
//     reported on the tenant (TenantView.Usage.DiskBytes); the containers'
//     own DiskBytes stay 0 because the kernel does not split a project.
//   - both: a file belongs to exactly one project, so the per-container caps
//     win and the aggregate is not enforced; each container says so in its
//     errors.
//
// Nothing is half-applied: every directory is checked (project quota on,
// one filesystem) before an ID is allocated or a file tagged. When the
// container is gone or leaves the policy, its directories that still exist
// are put back in project 0, and the last member of a project clears its
// limit and gives its ID back to the allocator.

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits/projquota"
	"github.com/quell-dev/quell/policies"
)

// DiskQuotas is the disk side the loop uses: projquota.Quotas and
// projquota.Allocator behind one small interface.
type DiskQuotas interface {
	// Check returns nil if project quota is enforced on path's filesystem,
	// else an error saying how to turn it on (projquota.ErrQuotaOff) or that
	// the filesystem cannot do it (projquota.ErrQuotaUnsupported).
	Check(path string) error
	// Device is the st_dev of path (which filesystem it is on).
	Device(path string) (uint64, error)
	// Assign sets project id's limit on dir's filesystem and tags dir's tree.
	Assign(dir string, id uint32, l projquota.ProjectLimit) error
	// Untag puts dir's tree back in project 0.
	Untag(dir string) error
	// ClearLimit removes project id's limits on path's filesystem.
	ClearLimit(path string, id uint32) error
	Usage(path string, id uint32) (projquota.ProjectQuota, error)
	// Allocate, Lookup and Free manage the persistent project IDs.
	Allocate(key string) (uint32, error)
	Lookup(key string) (uint32, bool)
	Free(key string) error
}

// WithDiskQuotas replaces the host's project quotas (tests).
func WithDiskQuotas(q DiskQuotas) Option { return func(e *Enforcer) { e.quotas = q } }

// hostQuotas is the real DiskQuotas. The allocator file is read on first
// use, so a host without disk limits never touches it.
type hostQuotas struct {
	q        *projquota.Quotas
	stateDir string
	mu       sync.Mutex
	a        *projquota.Allocator
}

var _ DiskQuotas = (*hostQuotas)(nil)

func newHostQuotas(procRoot, stateDir string) *hostQuotas {
	return &hostQuotas{q: projquota.NewQuotas(procRoot + "/self/mountinfo"), stateDir: stateDir}
}

func (h *hostQuotas) alloc() (*projquota.Allocator, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.a != nil {
		return h.a, nil
	}
	a, err := projquota.NewAllocator(h.stateDir, projquota.DefaultProjectIDBase, nil)
	if err != nil {
		return nil, err
	}
	h.a = a
	return a, nil
}

func (h *hostQuotas) Check(path string) error { return h.q.Check(path) }

func (h *hostQuotas) Device(path string) (uint64, error) { return projquota.Device(path) }

func (h *hostQuotas) Assign(dir string, id uint32, l projquota.ProjectLimit) error {
	return h.q.Assign(dir, id, l)
}

func (h *hostQuotas) Untag(dir string) error { return projquota.SetProjectID(dir, 0) }

func (h *hostQuotas) ClearLimit(path string, id uint32) error { return h.q.Release(path, id) }

func (h *hostQuotas) Usage(path string, id uint32) (projquota.ProjectQuota, error) {
	return h.q.ProjectUsage(path, id)
}

func (h *hostQuotas) Allocate(key string) (uint32, error) {
	a, err := h.alloc()
	if err != nil {
		return 0, err
	}
	return a.Allocate(key)
}

func (h *hostQuotas) Lookup(key string) (uint32, bool) {
	a, err := h.alloc()
	if err != nil {
		return 0, false
	}
	return a.Lookup(key)
}

func (h *hostQuotas) Free(key string) error {
	a, err := h.alloc()
	if err != nil {
		return err
	}
	return a.Release(key)
}

// diskWant is the project a container's files should be in.
type diskWant struct {
	key     string // allocator key: "container:<cgroup>" or "tenant:<name>"
	limit   projquota.ProjectLimit
	volumes []string
	note    string // a standing remark for the container's errors
}

func diskWantFor(p *policies.Policy, c view.Container) (diskWant, bool) {
	ten := tenantNamed(p, c.Tenant)
	if ten == nil {
		return diskWant{}, false
	}
	if l := ten.Container.Disk; l != nil {
		w := diskWant{key: "container:" + c.Cgroup, limit: projquota.ProjectLimit{Bytes: l.Bytes, Inodes: l.Inodes}, volumes: l.Volumes}
		if ten.Limits.Disk != nil {
			w.note = "disk: tenant aggregate disk limit not enforced: per-container disk caps give each container its own project, and a file belongs to one project"
		}
		return w, true
	}
	if l := ten.Limits.Disk; l != nil {
		return diskWant{key: "tenant:" + ten.Name, limit: projquota.ProjectLimit{Bytes: l.Bytes, Inodes: l.Inodes}, volumes: l.Volumes}, true
	}
	return diskWant{}, false
}

// diskEntry is what the loop knows and did about one container's project.
type diskEntry struct {
	id, tenant, key string
	pid             int    // what dirs were found from
	bundle          string //
	volumes         []string
	dirs            []string // writable layer first, then volumes
	dev             uint64
	limit           projquota.ProjectLimit
	project         uint32
	applied         bool // limit set and dirs tagged (dry-run: reported)
	tagged          bool // files may carry the project: release must undo
	err             string
	retryAt         time.Time
}

// quotaDisks is the loop's disk step (see the top of this file). It
// returns the number of containers with errors this tick.
func (e *Enforcer) quotaDisks(p *policies.Policy) int {
	if e.quotas == nil {
		return 0
	}
	errs := 0
	tenantUse := map[string]int64{}
	for _, cg := range e.sortedKnown() {
		t := e.known[cg]
		w, want := diskWantFor(p, t.c)
		d := e.disks[cg]
		if !want {
			if d != nil {
				errs += e.releaseDisk(cg, d, "no longer wanted by the policy")
			}
			continue
		}
		if w.note != "" {
			t.errs = append(t.errs, w.note)
		}
		if d != nil && (d.key != w.key || d.pid != t.c.PID || d.bundle != t.c.Bundle || !slices.Equal(d.volumes, w.volumes)) {
			if e.releaseDisk(cg, d, "its project or writable layer changed") > 0 {
				errs++
				continue
			}
			d = nil
		}
		if d == nil {
			d = &diskEntry{id: t.c.ID, tenant: t.c.Tenant, key: w.key, pid: t.c.PID, bundle: t.c.Bundle, volumes: w.volumes}
			e.disks[cg] = d
		}
		if !d.applied || d.limit != w.limit {
			now := e.clock.Now()
			if d.err != "" && now.Before(d.retryAt) {
				t.errs = append(t.errs, d.err)
				continue
			}
			if err := e.assignDisk(t, d, w); err != nil {
				msg := "disk: " + err.Error()
				if msg != d.err {
					e.log.Warn("disk limit cannot be applied", "cgroup", cg, "err", err)
					e.events.add(view.Event{Time: now, Kind: "error", Tenant: t.c.Tenant, Cgroup: cg, Target: t.c.ID,
						Reason: msg, DryRun: e.cfg.DryRun})
				}
				d.err, d.retryAt = msg, now.Add(e.cfg.Resync)
				t.errs = append(t.errs, msg)
				errs++
				continue
			}
			d.err = ""
		}
		if d.project == 0 { // dry-run and never applied by a daemon
			continue
		}
		q, err := e.quotas.Usage(d.dirs[0], d.project)
		if err != nil {
			t.errs = append(t.errs, "disk usage: "+err.Error())
			errs++
			continue
		}
		if d.key == "tenant:"+t.c.Tenant {
			tenantUse[t.c.Tenant] = int64(q.UsedBytes)
		} else {
			t.usage.DiskBytes = int64(q.UsedBytes)
		}
	}
	for cg, d := range e.disks {
		if e.known[cg] == nil {
			errs += e.releaseDisk(cg, d, "container gone")
		}
	}
	e.tenantDisk = tenantUse
	return errs
}

// assignDisk finds and checks d's directories (once), then allocates the
// project and assigns the limit (dry-run: records what it would do).
func (e *Enforcer) assignDisk(t *tracked, d *diskEntry, w diskWant) error {
	if len(d.dirs) == 0 {
		dirs, dev, err := e.diskDirs(t, w)
		if err != nil {
			return err
		}
		d.dirs, d.dev = dirs, dev
	} else if err := e.quotas.Check(d.dirs[0]); err != nil {
		return err
	}
	ev := view.Event{Time: e.clock.Now(), Kind: "limit", Tenant: t.c.Tenant, Cgroup: t.c.Cgroup, Target: t.c.ID,
		Reason: fmt.Sprintf("disk project quota (%s) on %v", w.key, d.dirs), After: projectLimit(w.limit)}
	if d.applied {
		ev.Before = projectLimit(d.limit)
	}
	if e.cfg.DryRun {
		d.project, _ = e.quotas.Lookup(w.key) // set by a running daemon, if any: for usage
		ev.DryRun = true
		e.events.add(ev)
		d.applied, d.limit = true, w.limit
		return nil
	}
	id, err := e.quotas.Allocate(w.key)
	if err != nil {
		return err
	}
	d.project, d.tagged = id, true // from here on, releasing must undo
	for _, dir := range d.dirs {
		if err := e.quotas.Assign(dir, id, w.limit); err != nil {
			return err
		}
	}
	ev.Reason = fmt.Sprintf("disk project %d (%s) on %v", id, w.key, d.dirs)
	e.events.add(ev)
	d.applied, d.limit = true, w.limit
	return nil
}

// diskDirs finds t's writable layer and volumes and checks that they can be
// one project: quota on, one filesystem, not clashing with other projects.
func (e *Enforcer) diskDirs(t *tracked, w diskWant) ([]string, uint64, error) {
	layer, err := e.cfg.Runtimes.Layer(t.found, e.cfg.ProcRoot, t.c.PID, t.c.Bundle)
	if err != nil {
		return nil, 0, err
	}
	dirs := append([]string{layer}, w.volumes...)
	var dev uint64
	for i, dir := range dirs {
		if err := e.quotas.Check(dir); err != nil {
			return nil, 0, err
		}
		dv, err := e.quotas.Device(dir)
		if err != nil {
			return nil, 0, err
		}
		if i == 0 {
			dev = dv
		} else if dv != dev {
			return nil, 0, fmt.Errorf("volume %s is not on the filesystem of the writable layer %s: a project covers one filesystem", dir, layer)
		}
	}
	for _, cg := range e.sortedKnown() {
		o := e.disks[cg]
		if o == nil || cg == t.c.Cgroup || len(o.dirs) == 0 {
			continue
		}
		// A writable layer is one container's: a second cgroup finding it
		// (one named after another's ID, and so given its init PID) would
		// tag the first one's files and untag them on its release.
		if slices.Contains(o.dirs, layer) {
			return nil, 0, fmt.Errorf("writable layer %s is already in the disk project of cgroup %s: two cgroups claim one container; not limited", layer, cg)
		}
		if o.key == w.key && o.dev != dev {
			return nil, 0, fmt.Errorf("tenant %s's disk limit is one project on one filesystem; its container %s is on another than %s", t.c.Tenant, o.id, layer)
		}
		if o.key != w.key {
			for _, v := range w.volumes {
				if slices.Contains(o.dirs, v) {
					return nil, 0, fmt.Errorf("volume %s is already in the project of container %s", v, o.id)
				}
			}
		}
	}
	return dirs, dev, nil
}

// releaseDisk undoes d: untags its directories that still exist and, if it
// was the project's last member, clears the limit and frees the ID. On
// failure the entry stays (retried next tick) and it returns 1.
func (e *Enforcer) releaseDisk(cg string, d *diskEntry, why string) int {
	ev := view.Event{Time: e.clock.Now(), Kind: "restore", Tenant: d.tenant, Cgroup: cg, Target: d.id,
		Reason: fmt.Sprintf("disk project %d (%s) released: %s", d.project, d.key, why), Before: projectLimit(d.limit)}
	if e.cfg.DryRun || !d.tagged {
		if e.cfg.DryRun && d.applied {
			ev.DryRun = true
			e.events.add(ev)
		}
		delete(e.disks, cg)
		return 0
	}
	var errs []error
	for _, dir := range d.dirs {
		if err := e.quotas.Untag(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	last := true
	for ocg, o := range e.disks {
		if ocg != cg && o.key == d.key && o.tagged {
			last = false
		}
	}
	if last && len(errs) == 0 {
		anchor, err := e.onFilesystem(d.dirs[0], d.dev)
		if err == nil {
			err = e.quotas.ClearLimit(anchor, d.project)
		}
		if err == nil {
			err = e.quotas.Free(d.key)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		e.log.Warn("release disk project", "cgroup", cg, "project", d.project, "err", err)
		if t := e.known[cg]; t != nil {
			t.errs = append(t.errs, "disk release: "+err.Error())
		}
		return 1
	}
	e.events.add(ev)
	delete(e.disks, cg)
	return 0
}

// onFilesystem returns dir, or its nearest existing ancestor, provided it is
// still on filesystem dev (the container's layer is usually deleted with it).
func (e *Enforcer) onFilesystem(dir string, dev uint64) (string, error) {
	for p := dir; ; {
		dv, err := e.quotas.Device(p)
		if err == nil {
			if dv != dev {
				return "", fmt.Errorf("the filesystem of %s is gone (%s is on another)", dir, p)
			}
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", fmt.Errorf("no existing directory above %s", dir)
		}
		p = parent
	}
}

func projectLimit(l projquota.ProjectLimit) string {
	s := "bytes unlimited"
	if l.Bytes > 0 {
		s = fmt.Sprintf("bytes %d", l.Bytes)
	}
	if l.Inodes > 0 {
		s += fmt.Sprintf(", inodes %d", l.Inodes)
	}
	return s
}
