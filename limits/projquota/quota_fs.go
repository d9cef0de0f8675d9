package projquota

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Quotas sets and reads project quotas on XFS and ext4. Every method takes a
// path on the filesystem concerned (the mount point or any file below it).
type Quotas struct {
	mountinfo string // used only on kernels without quotactl_fd
}

// NewQuotas returns a Quotas that, on kernels older than 5.14, finds block
// devices in the mountinfo file at mountinfo ("" = /proc/self/mountinfo).
func NewQuotas(mountinfo string) *Quotas {
	if mountinfo == "" {
		mountinfo = "/proc/self/mountinfo"
	}
	return &Quotas{mountinfo: mountinfo}
}

// kind detects the filesystem family of path with statfs(2).
func kind(path string) (fsKind, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	switch uint32(st.Type) {
	case unix.XFS_SUPER_MAGIC:
		return fsXFS, nil
	case unix.EXT4_SUPER_MAGIC:
		return fsExt4, nil
	}
	return 0, fmt.Errorf("%s (fs magic %#x): %w", path, st.Type, ErrQuotaUnsupported)
}

// Device returns the device number (st_dev) of the filesystem holding
// path, following symlinks. A project quota covers one filesystem, so
// directories can share a project only when their devices are equal. A
// failed stat is an error naming path.
func Device(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Dev, nil
}

// ctl runs one quotactl command against the filesystem of path.
func (q *Quotas) ctl(path string, cmd, id uint32, addr unsafe.Pointer) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	err = quotactlFd(fd, cmd, id, addr)
	if !errors.Is(err, unix.ENOSYS) {
		return err
	}
	dev, derr := deviceOf(q.mountinfo, path)
	if derr != nil {
		return derr
	}
	return quotactlDev(dev, cmd, id, addr)
}

// Check returns nil if project quota is accounted and enforced on the
// filesystem of path; otherwise an error wrapping ErrQuotaOff (saying how to
// turn it on) or ErrQuotaUnsupported, or the statfs/quotactl failure.
func (q *Quotas) Check(path string) error {
	k, err := kind(path)
	if err != nil {
		return err
	}
	var st fsQuotaStat
	st.Version = 1
	if err := q.ctl(path, qXGetQStat, 0, unsafe.Pointer(&st)); err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ESRCH) {
			return quotaOffError(path, k)
		}
		return fmt.Errorf("quota state of %s: %w", path, err)
	}
	if st.Flags&fsQuotaPdqAcct == 0 || st.Flags&fsQuotaPdqEnfd == 0 {
		return quotaOffError(path, k)
	}
	return nil
}

// SetProjectLimit sets project id's hard limits on the filesystem of path
// (zero clears that limit; soft limits are always cleared). Bytes are
// rounded up to the filesystem's quota block: 512 B on XFS, 1 KiB on ext4.
// It fails with ErrQuotaOff (wrapped) if project quota is not enforced there.
func (q *Quotas) SetProjectLimit(path string, id uint32, l ProjectLimit) error {
	if err := q.Check(path); err != nil {
		return fmt.Errorf("set project %d limit: %w", id, err)
	}
	k, _ := kind(path)
	var err error
	if k == fsXFS {
		d := xfsLimit(id, l)
		err = q.ctl(path, qXSetQLim, id, unsafe.Pointer(&d))
	} else {
		d := ext4Limit(l)
		err = q.ctl(path, qSetQuota, id, unsafe.Pointer(&d))
	}
	if err != nil {
		return fmt.Errorf("set project %d limit on %s: %w", id, path, err)
	}
	return nil
}

// ProjectUsage reads project id's usage and limits on the filesystem of
// path. An ID the filesystem has no record of reports zero usage and no
// limits, with a nil error; every other failure is an error.
func (q *Quotas) ProjectUsage(path string, id uint32) (ProjectQuota, error) {
	k, err := kind(path)
	if err != nil {
		return ProjectQuota{}, err
	}
	if k == fsXFS {
		var d fsDiskQuota
		err = q.ctl(path, qXGetQuota, id, unsafe.Pointer(&d))
		if err == nil {
			return d.quota(), nil
		}
	} else {
		var d ifDqblk
		err = q.ctl(path, qGetQuota, id, unsafe.Pointer(&d))
		if err == nil {
			return d.quota(id), nil
		}
	}
	if isNoQuota(err) {
		return ProjectQuota{ID: id}, nil
	}
	return ProjectQuota{}, fmt.Errorf("project %d usage on %s: %w", id, path, err)
}

// ProjectIDsInUse lists the project IDs >= from that the filesystem of path
// has a quota record for (files charged to them or limits set), in order,
// using Q_XGETNEXTQUOTA / Q_GETNEXTQUOTA.
func (q *Quotas) ProjectIDsInUse(path string, from uint32) ([]uint32, error) {
	k, err := kind(path)
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for id := uint64(from); id <= 0xffffffff; {
		var next uint32
		if k == fsXFS {
			var d fsDiskQuota
			err = q.ctl(path, qXGetNextQuota, uint32(id), unsafe.Pointer(&d))
			next = d.ID
		} else {
			var d ifDqblk
			err = q.ctl(path, qGetNextQuota, uint32(id), unsafe.Pointer(&d))
			next = d.ID
		}
		if isNoQuota(err) {
			return ids, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list project IDs on %s from %d: %w", path, id, err)
		}
		if uint64(next) < id {
			return nil, fmt.Errorf("list project IDs on %s: went back from %d to %d", path, id, next)
		}
		ids = append(ids, next)
		id = uint64(next) + 1
	}
	return ids, nil
}

// Assign puts dir under project id with limit l: it checks that project
// quota is enforced (nothing is changed if not), sets the limit, then tags
// the tree (SetProjectID), so files are never charged to an ID without its
// limit.
func (q *Quotas) Assign(dir string, id uint32, l ProjectLimit) error {
	if err := q.SetProjectLimit(dir, id, l); err != nil {
		return err
	}
	return SetProjectID(dir, id)
}

// Release clears project id's limits on the filesystem of path. The files
// keep their project ID (and so keep being counted) until deleted.
func (q *Quotas) Release(path string, id uint32) error {
	return q.SetProjectLimit(path, id, ProjectLimit{})
}
