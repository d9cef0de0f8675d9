// Package limits owns quell's cgroupfs room: it turns limits expressed as
// data into cgroupfs writes, reads them back and verifies them, and reads
// usage counters and pressure. Network shaping is in limits/tc, filesystem
// project quotas in limits/projquota. It imports nothing else of quell's and
// never decides *what* to limit; that is the enforcer's job.
//
// The cgroup side, in brief: Resources.Writes turns limits into ordered
// (file, value) pairs; FS (NewFS) reads them (Read, Current), diffs them
// (Diff), applies them with read-back verification (Apply), puts originals
// back (Restore), freezes, thaws and kills cgroups, creates tenant slices
// and reads usage (Stats). FS refuses (ErrUnsafe) to change the root
// cgroup, init.scope, quelld's own cgroup (WithSelf) or anything outside
// its root. A vanished cgroup is ErrGone, a missing file ErrMissing, and a
// failed read is an error, never a zero.
//
// cgroupfs is read and written directly rather than through
// containerd/cgroups/v3: that library writes -1 literally (the kernel
// refuses it), turns read errors into 0 and "max" into MaxUint64, lacks
// io.weight, and does not wait for "frozen 1". The files involved are
// simple flat-keyed text, so hand parsing is short and each parser is a
// separate function tested on strings, garbage included.
package limits

// Max is the value meaning "no limit" for the int64 fields of Resources.
const Max int64 = -1

// Resources is the desired state of one cgroup. A nil field means "leave
// alone"; Max (-1) means write "max".
type Resources struct {
	CPUQuota   *int64  // cpu.max quota in µs per CPUPeriod; Max = unlimited
	CPUPeriod  uint64  // cpu.max period in µs; 0 = DefaultCPUPeriod
	CPUWeight  *uint64 // cpu.weight
	CpusetCPUs *string // cpuset.cpus
	CpusetMems *string // cpuset.mems
	MemoryMax  *int64  // memory.max
	MemoryHigh *int64  // memory.high
	MemoryLow  *int64  // memory.low
	SwapMax    *int64  // memory.swap.max
	PidsMax    *int64  // pids.max
	IOMax      []IOMax // io.max, one line per device
	IOWeight   *uint64 // io.weight ("default N")
}

// IOMax is one io.max line. A zero rate is written as "max".
type IOMax struct {
	Major, Minor             uint32
	RBPS, WBPS, RIOPS, WIOPS uint64
}

// Write is one cgroupfs file and the value quell wants in it.
type Write struct {
	File  string // e.g. "cpu.max"
	Value string // as written, e.g. "50000 100000"
}
