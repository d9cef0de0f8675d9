package limits

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Writing memory.high below a cgroup's usage makes the kernel reclaim down
// to it inside the write(2) (mm/memcontrol.c: memory_high_write): the new
// limit is in force at once, but the call returns only when usage is under
// it or reclaim stops making progress. For a big container on a swapping host that is seconds (6.9 s
// in the lab to halve a 1.2 GiB hog), and the caller — quelld's loop —
// would stand still meanwhile, watching and protecting nothing else.
//
// So these writes run on an OS thread of their own; Apply waits for them
// only FS's reclaim wait (WithReclaimWait, default 100 ms), then reads back
// (the value is already there) and reports Result.Reclaiming. A later write
// to the same file first stops the earlier one's reclaim: a signal to its
// thread ends the kernel's loop (it checks signal_pending), so a lifted
// throttle does not go on swapping the container out.

// reclaimFile tells which file's writes run on their own thread: only
// memory.high. memory.max reclaims in its write too, but when reclaim
// fails the same write OOM-kills inside the cgroup, and the split of a
// tenant's memory expects that kill to be over before the next pass
// observes usage. (With memory.max writes in the background too, the lab's
// split-memory test once saw a sibling within its share OOM-killed instead
// of the member that overreached.) Lowering memory.max below use is rare:
// split shares are never below use, and throttles use memory.high.
func reclaimFile(file string) bool { return file == "memory.high" }

const defaultReclaimWait = 100 * time.Millisecond

// reclaimSettle bounds how long Apply re-reads a reclaiming write's file
// for its value to appear (its thread had not run yet).
const reclaimSettle = time.Second

type reclaims struct {
	wait time.Duration
	// write is writeFile; interrupt signals a thread of this process.
	// Tests replace both.
	write     func(dir, file, value string) error
	interrupt func(tid int)

	// slots bounds the writes reclaiming at once (each holds an OS
	// thread); when all are taken a write is made in the caller, as before.
	slots chan struct{}

	mu     sync.Mutex
	active map[string]*reclaim // path → the write still in the kernel
}

// maxReclaims is how many writes may reclaim in the background at once.
const maxReclaims = 64

type reclaim struct {
	started chan struct{} // tid is set
	done    chan struct{} // closed under reclaims.mu when the write returned
	tid     int
	err     error
}

func newReclaims() *reclaims {
	return &reclaims{wait: defaultReclaimWait, write: writeFile, interrupt: sigurg,
		slots: make(chan struct{}, maxReclaims), active: map[string]*reclaim{}}
}

// sigurg sends SIGURG to thread tid of this process. The Go runtime uses
// SIGURG for preemption and ignores a stray one; the kernel sees a pending
// signal and leaves its reclaim loop.
func sigurg(tid int) { _ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG) }

// do writes value to dir/file, and has an earlier write's reclaim on the
// same file stopped. A write that may reclaim (mayReclaim) runs on its own
// thread: do returns when it returned, or after the wait with
// reclaiming=true while the kernel goes on reclaiming. Any other is made
// here.
func (rc *reclaims) do(dir, file, value string, mayReclaim bool) (reclaiming bool, err error) {
	path := dir + "/" + file
	rc.mu.Lock()
	prev := rc.active[path]
	rc.mu.Unlock()
	if prev != nil {
		// Not waited for: under emulation the kernel took up to 1.4 s to
		// notice the signal (one reclaim round), and the caller has a loop
		// to run. The new value is in force the moment it is written.
		go rc.stop(prev)
	}
	if mayReclaim {
		select {
		case rc.slots <- struct{}{}:
		default:
			mayReclaim = false // all slots busy: wait for this one here
		}
	}
	if !mayReclaim {
		return false, rc.write(dir, file, value)
	}
	r := &reclaim{started: make(chan struct{}), done: make(chan struct{})}
	rc.mu.Lock()
	rc.active[path] = r
	rc.mu.Unlock()
	go func() {
		// Never unlocked: the thread ends with this goroutine, so a signal
		// meant for this write can reach no other goroutine.
		runtime.LockOSThread()
		r.tid = unix.Gettid()
		close(r.started)
		err := rc.write(dir, file, value)
		rc.mu.Lock()
		r.err = err
		close(r.done)
		if rc.active[path] == r {
			delete(rc.active, path)
		}
		rc.mu.Unlock()
		<-rc.slots
	}()
	t := time.NewTimer(rc.wait)
	defer t.Stop()
	select {
	case <-r.done:
		return false, r.err
	case <-t.C:
		return true, nil
	}
}

// stop ends r's reclaim: it signals r's thread until the write returns
// (a signal that lands before the thread is in the kernel's loop is lost,
// hence the repeats), for 5 s at most.
func (rc *reclaims) stop(r *reclaim) {
	<-r.started
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc.mu.Lock()
		select {
		case <-r.done:
			rc.mu.Unlock()
			return
		default:
		}
		// Still under mu with done open: the thread is alive, tid is ours.
		rc.interrupt(r.tid)
		rc.mu.Unlock()
		if time.Now().After(deadline) {
			return
		}
		select {
		case <-r.done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Reclaiming lists the memory.high files (as paths) whose
// write is still reclaiming in the kernel.
func (f *FS) Reclaiming() []string {
	f.rc.mu.Lock()
	defer f.rc.mu.Unlock()
	out := make([]string, 0, len(f.rc.active))
	for p := range f.rc.active {
		out = append(out, p)
	}
	return out
}

// WithReclaimWait sets how long Apply waits for a memory.high write to
// return before leaving the kernel to reclaim in the background (default
// 100 ms).
func WithReclaimWait(d time.Duration) Option { return func(f *FS) { f.rc.wait = d } }
