package projquota

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// quotactl commands for PRJQUOTA: QCMD(cmd, 2) = cmd<<8 | 2.
const (
	qXGetQStat     = 0x580502   // Q_XGETQSTAT: fs_quota_stat
	qXGetQuota     = 0x580302   // Q_XGETQUOTA: fs_disk_quota
	qXSetQLim      = 0x580402   // Q_XSETQLIM: fs_disk_quota
	qXGetNextQuota = 0x580902   // Q_XGETNEXTQUOTA: fs_disk_quota
	qGetQuota      = 0x80000702 // Q_GETQUOTA: if_dqblk
	qSetQuota      = 0x80000802 // Q_SETQUOTA: if_dqblk
	qGetNextQuota  = 0x80000902 // Q_GETNEXTQUOTA: if_nextdqblk
)

// fsDiskQuota is struct fs_disk_quota from <linux/dqblk_xfs.h> (112 bytes).
// Block counts and limits are in 512-byte basic blocks.
type fsDiskQuota struct {
	Version    int8
	Flags      int8
	FieldMask  uint16
	ID         uint32
	BlkHard    uint64
	BlkSoft    uint64
	InoHard    uint64
	InoSoft    uint64
	BCount     uint64
	ICount     uint64
	ITimer     int32
	BTimer     int32
	IWarns     uint16
	BWarns     uint16
	ITimerHi   int8
	BTimerHi   int8
	RtbTimerHi int8
	Padding2   int8
	RtbHard    uint64
	RtbSoft    uint64
	RtbCount   uint64
	RtbTimer   int32
	RtbWarns   uint16
	Padding3   int16
	Padding4   [8]byte
}

const (
	fsDquotVersion = 1
	fsProjQuota    = 2 // d_flags: FS_PROJ_QUOTA
	fsDqIsoft      = 1 << 0
	fsDqIhard      = 1 << 1
	fsDqBsoft      = 1 << 2
	fsDqBhard      = 1 << 3
	xfsBlock       = 512
)

// ifDqblk is struct if_nextdqblk from <linux/quota.h> (72 bytes), which is
// struct if_dqblk (72 bytes with its tail padding) plus the ID in that
// padding. Space limits are in 1 KiB blocks, current space in bytes.
type ifDqblk struct {
	BHardLimit uint64
	BSoftLimit uint64
	CurSpace   uint64
	IHardLimit uint64
	ISoftLimit uint64
	CurInodes  uint64
	BTime      uint64
	ITime      uint64
	Valid      uint32
	ID         uint32
}

const (
	qifBLimits = 1
	qifILimits = 4
	qifLimits  = qifBLimits | qifILimits
	qifBlock   = 1024
)

// fsQuotaStat is struct fs_quota_stat from <linux/dqblk_xfs.h> (80 bytes).
type fsQuotaStat struct {
	Version      int8
	_            int8
	Flags        uint16
	Pad          int8
	_            [3]byte
	UQuota       fsQFileStat
	GQuota       fsQFileStat
	InCoreDqs    uint32
	BTimeLimit   int32
	ITimeLimit   int32
	RtbTimeLimit int32
	BWarnLimit   uint16
	IWarnLimit   uint16
	_            [4]byte
}

type fsQFileStat struct {
	Ino      uint64
	NBlks    uint64
	NExtents uint32
	_        uint32
}

const (
	fsQuotaPdqAcct = 1 << 4
	fsQuotaPdqEnfd = 1 << 5
)

// xfsLimit encodes a limit for Q_XSETQLIM: bytes rounded up to 512-byte
// blocks, hard limits set, soft limits cleared.
func xfsLimit(id uint32, l ProjectLimit) fsDiskQuota {
	return fsDiskQuota{
		Version:   fsDquotVersion,
		Flags:     fsProjQuota,
		FieldMask: fsDqBhard | fsDqBsoft | fsDqIhard | fsDqIsoft,
		ID:        id,
		BlkHard:   ceilDiv(l.Bytes, xfsBlock),
		InoHard:   l.Inodes,
	}
}

// ext4Limit encodes a limit for Q_SETQUOTA: bytes rounded up to 1 KiB
// blocks, hard limits set, soft limits cleared.
func ext4Limit(l ProjectLimit) ifDqblk {
	return ifDqblk{BHardLimit: ceilDiv(l.Bytes, qifBlock), IHardLimit: l.Inodes, Valid: qifLimits}
}

func (d *fsDiskQuota) quota() ProjectQuota {
	return ProjectQuota{ID: d.ID, UsedBytes: d.BCount * xfsBlock, UsedInodes: d.ICount,
		Limit: ProjectLimit{Bytes: d.BlkHard * xfsBlock, Inodes: d.InoHard}}
}

func (d *ifDqblk) quota(id uint32) ProjectQuota {
	return ProjectQuota{ID: id, UsedBytes: d.CurSpace, UsedInodes: d.CurInodes,
		Limit: ProjectLimit{Bytes: d.BHardLimit * qifBlock, Inodes: d.IHardLimit}}
}

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

// quotactlFd calls quotactl_fd(2). ENOSYS means a kernel older than 5.14.
func quotactlFd(fd int, cmd uint32, id uint32, addr unsafe.Pointer) error {
	_, _, e := unix.Syscall6(unix.SYS_QUOTACTL_FD, uintptr(fd), uintptr(cmd), uintptr(id), uintptr(addr), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// quotactlDev calls quotactl(2) on a block device.
func quotactlDev(dev string, cmd uint32, id uint32, addr unsafe.Pointer) error {
	p, err := unix.BytePtrFromString(dev)
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_QUOTACTL, uintptr(cmd), uintptr(unsafe.Pointer(p)), uintptr(id), uintptr(addr), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// isNoQuota reports errors meaning "no quota record for this ID".
func isNoQuota(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}
