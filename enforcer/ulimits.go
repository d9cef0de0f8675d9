package enforcer

// ulimits.go applies [tenant.container] ulimits live: each pass, every
// process of a container's cgroup (and of the cgroups below it) gets the
// policy's resource limits with prlimit(2), so processes the runtime starts
// later (docker exec, whose processes are children of the runtime's shim
// rather than of the container's init and so get the runtime's default) are
// caught by the next pass. Processes forked inside the container inherit
// from their parent.
//
// The original of each resource is the container's, not each process's: the
// limit its init process (or, without a known init, its first process) had
// when quell first set the resource, kept in the state dir. Per-process
// originals would be wrong for processes born after quell lowered their
// parent (their first-seen value is quell's own).
//
// A limit the runtime set (docker --ulimit, Docker's default nofile
// 1048576) is a ceiling: without override quell sets
// min(original, policy) for the soft and the hard limit; with override = true
// the policy's value for both. A process is changed when it holds the
// container's original or anything above what quell wants; a process that
// lowered its own limit below quell's is left as it is. When the policy stops
// setting a resource, when the container leaves policy, and on
// `quelld --restore-all`, every process that still holds quell's value gets
// the original back; the others are left alone.
//
// A PID is only touched while its start time (/proc/<pid>/stat field 22)
// is the one seen when the cgroup was listed: it is read again just before
// and checked again just after the prlimit call, so a PID reused by
// another process in between is not given a limit silently (it is logged).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/enforcer/discover"
	"github.com/quell-dev/quell/policies"
)

// Prlimiter reads and sets another process's resource limits.
type Prlimiter interface {
	// Get returns pid's limit of resource (unix.RLIMIT_*).
	Get(pid, resource int) (unix.Rlimit, error)
	// Set gives pid limit l of resource.
	Set(pid, resource int, l unix.Rlimit) error
}

// sysPrlimit is prlimit(2).
type sysPrlimit struct{}

var _ Prlimiter = sysPrlimit{}

func (sysPrlimit) Get(pid, resource int) (unix.Rlimit, error) {
	var r unix.Rlimit
	err := unix.Prlimit(pid, resource, nil, &r)
	return r, err
}

func (sysPrlimit) Set(pid, resource int, l unix.Rlimit) error {
	return unix.Prlimit(pid, resource, &l, nil)
}

// WithPrlimit replaces prlimit(2) (tests: a fake /proc has no processes).
func WithPrlimit(p Prlimiter) Option { return func(e *Enforcer) { e.prlimit = p } }

// Caps on one container's scan per pass.
const (
	maxUlimitProcs   = 4096
	maxUlimitCgroups = 256
)

// ulimitResource is one resource of policies.Ulimits.
type ulimitResource struct {
	name string
	res  int
	of   func(*policies.Ulimits) *uint64
}

var ulimitResources = []ulimitResource{
	{"nofile", unix.RLIMIT_NOFILE, func(u *policies.Ulimits) *uint64 { return u.NoFile }},
	{"nproc", unix.RLIMIT_NPROC, func(u *policies.Ulimits) *uint64 { return u.NProc }},
	{"cpu", unix.RLIMIT_CPU, func(u *policies.Ulimits) *uint64 { return u.CPU }},
	{"core", unix.RLIMIT_CORE, func(u *policies.Ulimits) *uint64 { return u.Core }},
}

func resourceNamed(name string) (int, bool) {
	for _, r := range ulimitResources {
		if r.name == name {
			return r.res, true
		}
	}
	return 0, false
}

// ulimitWant is what quell sets given the container's original: the
// policy's value, or without override no more than the original.
func ulimitWant(orig unix.Rlimit, policy uint64, override bool) unix.Rlimit {
	if override {
		return unix.Rlimit{Cur: policy, Max: policy}
	}
	return unix.Rlimit{Cur: min(orig.Cur, policy), Max: min(orig.Max, policy)}
}

// ulimitFor says what a process holding cur gets: want when it holds the
// container's original or what quell set before (prev, when the policy
// changed), cur lowered to want when it holds more, nothing when it holds
// want already or chose less itself.
func ulimitFor(cur, orig, prev, want unix.Rlimit) (unix.Rlimit, bool) {
	switch {
	case cur == want:
		return cur, false
	case cur == orig || cur == prev:
		return want, true
	case cur.Cur > want.Cur || cur.Max > want.Max:
		return unix.Rlimit{Cur: min(cur.Cur, want.Cur), Max: min(cur.Max, want.Max)}, true
	}
	return cur, false
}

// fmtRlimit prints a limit as `ulimit` would: one number when soft and
// hard agree, "soft:hard" when not, "unlimited" for RLIM_INFINITY.
func fmtRlimit(l unix.Rlimit) string {
	one := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	if l.Cur == l.Max {
		return one(l.Cur)
	}
	return one(l.Cur) + ":" + one(l.Max)
}

// procRef is a process seen in a container's cgroup, with its start time.
type procRef struct {
	pid   int
	start uint64
}

// containerProcs lists the processes of cg and its descendants, at most
// maxUlimitProcs of them from maxUlimitCgroups cgroups; processes that
// exit meanwhile are left out. An error is returned only for cg itself
// (limits.ErrGone when it is gone).
func (e *Enforcer) containerProcs(cg string) ([]procRef, error) {
	var out []procRef
	queue := []string{cg}
	for n := 0; len(queue) > 0 && n < maxUlimitCgroups && len(out) < maxUlimitProcs; n++ {
		cur := queue[0]
		queue = queue[1:]
		pids, err := e.fs.Procs(cur)
		if err != nil {
			if cur == cg {
				return nil, err
			}
			continue // a child cgroup removed meanwhile
		}
		for _, pid := range pids {
			if len(out) == maxUlimitProcs {
				break
			}
			if st, ok := e.procStart(pid); ok {
				out = append(out, procRef{pid, st})
			}
		}
		ents, err := os.ReadDir(filepath.Join(e.cfg.CgroupRoot, cur))
		if err != nil {
			continue
		}
		for _, d := range ents {
			if d.IsDir() { // a symlink is not a directory here: never followed
				queue = append(queue, cur+"/"+d.Name())
			}
		}
	}
	return out, nil
}

// procStart reads pid's start time (field 22 of /proc/<pid>/stat).
func (e *Enforcer) procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join(e.cfg.ProcRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	return discover.StartTime(b)
}

// ulimitOutcome is what one pass did to one resource of one container.
type ulimitOutcome struct {
	set, failed int
	errs        []string
}

// setProcs gives each of procs, for resource res, what decide says. It
// re-reads each PID's start time just before and after the call.
func (e *Enforcer) setProcs(cg string, procs []procRef, res int, decide func(cur unix.Rlimit) (unix.Rlimit, bool)) ulimitOutcome {
	var o ulimitOutcome
	for _, p := range procs {
		cur, err := e.prlimit.Get(p.pid, res)
		if errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err != nil {
			o.failed++
			o.errs = append(o.errs, fmt.Sprintf("read limits of PID %d: %v", p.pid, err))
			continue
		}
		nl, change := decide(cur)
		if !change || e.cfg.DryRun {
			if change {
				o.set++
			}
			continue
		}
		if st, ok := e.procStart(p.pid); !ok || st != p.start {
			continue // exited, or the PID is another process's now
		}
		err = e.prlimit.Set(p.pid, res, nl)
		if errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err != nil {
			o.failed++
			o.errs = append(o.errs, fmt.Sprintf("set limit of PID %d to %s: %v", p.pid, fmtRlimit(nl), err))
			continue
		}
		if st, ok := e.procStart(p.pid); ok && st != p.start {
			e.log.Warn("a PID was reused during prlimit: another process may have got a container's limit", "cgroup", cg, "pid", p.pid)
		}
		o.set++
	}
	return o
}

// ulimitOriginal is the container's limit of res: its init process's when
// the init is among procs, else its first process's.
func (e *Enforcer) ulimitOriginal(t *tracked, procs []procRef, res int) (unix.Rlimit, error) {
	first := procs[0].pid
	for _, p := range procs {
		if p.pid == t.c.PID {
			first = p.pid
			break
		}
	}
	return e.prlimit.Get(first, res)
}
