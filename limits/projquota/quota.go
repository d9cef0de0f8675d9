package projquota

// Disk project quotas: a directory tree is tagged with a project ID
// (FS_IOC_FSSETXATTR with FS_XFLAG_PROJINHERIT) and the filesystem's
// project quota for that ID caps the bytes and inodes below it. XFS and ext4
// are supported; both are driven through quotactl_fd(2) (Linux 5.14+) on a
// file descriptor of the mount, falling back to quotactl(2) on the mount's
// block device (found in mountinfo) on older kernels.

import (
	"errors"
	"fmt"
)

// ProjectLimit caps one project. Zero means "no limit" for that value.
type ProjectLimit struct {
	Bytes  uint64
	Inodes uint64
}

// ProjectQuota is a project's usage and limits as the filesystem reports
// them. Bytes are exact on ext4 and rounded to 512 bytes on XFS.
type ProjectQuota struct {
	ID         uint32
	UsedBytes  uint64
	UsedInodes uint64
	Limit      ProjectLimit
}

// ErrQuotaOff means the filesystem is not mounted with project quota
// accounting and enforcement; the wrapping error says how to turn it on.
var ErrQuotaOff = errors.New("project quota is not enabled")

// ErrQuotaUnsupported means the filesystem is neither XFS nor ext4.
var ErrQuotaUnsupported = errors.New("project quotas are supported on xfs and ext4 only")

// fsKind is a filesystem family with its own quota interface.
type fsKind int

const (
	fsXFS fsKind = iota + 1
	fsExt4
)

func (k fsKind) String() string {
	switch k {
	case fsXFS:
		return "xfs"
	case fsExt4:
		return "ext4"
	}
	return "unknown"
}

// quotaOffError explains how to enable project quota on a filesystem.
func quotaOffError(path string, k fsKind) error {
	fix := "mount it with -o prjquota"
	if k == fsExt4 {
		fix = "enable the feature on the unmounted filesystem (tune2fs -O project,quota DEV) and mount it with -o prjquota"
	}
	return fmt.Errorf("%s (%s): %w: %s", path, k, ErrQuotaOff, fix)
}
