package enforcer

import (
	"time"

	"github.com/quell-dev/quell/limits"
	"golang.org/x/sys/unix"
)

// fullEvery is how many passes an idle container goes between full reads
// (its memory, pids, io and pressure files): a change that comes without
// any CPU use (memory reclaimed from it, a page-cache or socket charge,
// a task that sleeps in io-wait from before) is seen within fullEvery
// passes. Anything that runs in the container moves cpu.stat, which is
// read every pass and brings a full read the same pass. 10 passes is 10 s
// at the default interval, as cAdvisor's housekeeping (10 s, backing off
// to 15 s for idle containers) reads every container; at 5 the full reads
// of 1,000 idle containers took 9% of a vCPU in the lab.
const fullEvery = 10

// statDirOpener is a cgroupFS that can keep a cgroup's directory and
// cpu.stat open for repeated reads (limits.FS).
type statDirOpener interface {
	OpenStatDir(cg string, buf *[]byte) (*limits.StatDir, error)
}

// observeState is the loop's per-cgroup reading state between passes.
// Loop-owned.
type observeState struct {
	m    map[string]*observed // by cgroup
	pass uint64
	// beat counts the scheduled passes (not the PSI wake-ups): full reads
	// are due by it, so a host whose pressure wakes the loop often does
	// not read its idle containers in full more often for it.
	beat     uint64
	periodic bool    // this pass is a scheduled one
	used     int     // entries touched this pass
	buf      *[]byte // the read buffer all entries' dirs share
	// open is how many entries keep their dir open; budget how many may
	// (set at the first pass from RLIMIT_NOFILE unless set before).
	open, budget int
}

// fdReserve is how many file descriptors are left to everything else
// quelld opens (API connections, inotify, netlink, policy files, D-Bus)
// when deciding how many cgroups may keep their files open.
const fdReserve = 1024

// fdBudget is how many cgroups may keep their directory and cpu.stat open
// (two descriptors each) under RLIMIT_NOFILE's soft limit, which Go's
// runtime raises to the hard one at start (systemd's unit sets 65536:
// 32,256 cgroups; a shell's 4096: 1,536). The others are read by path,
// three syscalls instead of one, rather than run quelld out of
// descriptors.
func fdBudget() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur <= fdReserve {
		return 0
	}
	return int(min(rl.Cur-fdReserve, 1<<30) / 2)
}

// observed is one cgroup's reading state.
type observed struct {
	dir   *limits.StatDir // the cgroup's directory and cpu.stat, kept open (nil: not open)
	ino   uint64          // the cgroup directory's inode when dir was opened
	cpu   limits.CPUStat  // the last cpu.stat read…
	cpuT  time.Time       // …and when
	cpuOK bool
	// quiet: the last full read found no I/O, no pressure stall, no error.
	quiet bool
	phase uint64 // full reads fall on passes where (pass+phase)%fullEvery == 0
	seen  uint64 // the pass that last touched it

	psiPath [3]string // {cpu,memory,io}.pressure, made on first use without dir
}

// begin starts a pass; periodic is false for a pass a PSI trigger woke.
func (s *observeState) begin(periodic bool) {
	if s.m == nil {
		s.m = map[string]*observed{}
		b := make([]byte, 0, 4096)
		s.buf = &b
		if s.budget == 0 {
			s.budget = fdBudget()
		}
	}
	s.pass++
	if s.periodic = periodic; periodic {
		s.beat++
	}
	s.used = 0
}

// entry is cg's state, made on first use.
func (s *observeState) entry(cg string) *observed {
	o := s.m[cg]
	if o == nil {
		o = &observed{phase: uint64(fnv32(cg) % fullEvery)}
		s.m[cg] = o
	}
	if o.seen != s.pass {
		o.seen = s.pass
		s.used++
	}
	return o
}

// end forgets (and closes the files of) the cgroups no longer watched.
func (s *observeState) end() {
	if s.used == len(s.m) {
		return
	}
	for cg, o := range s.m {
		if o.seen != s.pass {
			s.closeDir(o)
			delete(s.m, cg)
		}
	}
}

// closeAll closes every file kept open (quelld stopping).
func (s *observeState) closeAll() {
	for cg, o := range s.m {
		s.closeDir(o)
		delete(s.m, cg)
	}
}

// idle reports whether a container whose cpu.stat reads cur this pass
// needs no other read: cpu.stat unchanged since the last pass, the last
// full read quiet, and this pass not its full read (a woken pass is
// nobody's: full reads fall on scheduled passes).
func (s *observeState) idle(o *observed, cur limits.CPUStat) bool {
	return o.cpuOK && o.quiet && cur == o.cpu && !s.fullDue(o)
}

// fullDue reports whether this pass is o's periodic full read.
func (s *observeState) fullDue(o *observed) bool {
	return s.periodic && (s.beat+o.phase)%fullEvery == 0
}

// closeDir closes o's kept-open files, if any.
func (s *observeState) closeDir(o *observed) {
	if o.dir != nil {
		o.dir.Close()
		o.dir = nil
		s.open--
	}
}

// psiStill reports whether no pressure source that could be read stalled
// between two reads (totals unchanged) and none still shows a recent
// stall (avg10 above 0): then nothing is lost by not reading them for a
// few passes.
func psiStill(before, after [3]limits.PSI, ok [3]bool) bool {
	for i := range after {
		if !ok[i] {
			continue
		}
		b, a := before[i], after[i]
		if a.Some.Total != b.Some.Total || a.Full.Total != b.Full.Total || a.Some.Avg10 != 0 || a.Full.Avg10 != 0 {
			return false
		}
	}
	return true
}

// fnv32 is FNV-1a of s, without allocating.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
