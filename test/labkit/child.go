package labkit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The child modes: a test binary or quell-bench re-executes itself with
// these set (StartChild, ChildEnv), and MaybeChild, called first in main
// or from an init, runs the mode and exits.
const (
	childModeEnv = "QUELL_LABKIT_CHILD"
	childArgEnv  = "QUELL_LABKIT_ARG"
)

// ChildEnv is the environment that makes a binary calling MaybeChild run
// mode with arg (and GOMAXPROCS=1, so a helper is one busy thread at most).
func ChildEnv(mode, arg string) []string {
	return []string{childModeEnv + "=" + mode, childArgEnv + "=" + arg, "GOMAXPROCS=1"}
}

// MaybeChild runs the child mode named in the environment and exits (3 on
// an error); it returns at once when there is none. The modes and what
// they print:
//
//	busy              spin forever
//	alloc MiB         allocate and touch MiB, print "ready", wait
//	churn MiB         keep touching MiB (a memory antagonist)
//	forkloop [MAX]    fork paused children until refused (or MAX of them),
//	                  print "done N errno" ("done N max" at MAX)
//	dio r|w BS PATH MiB  O_DIRECT read or write of MiB in BS-byte blocks
//	                  (a write is fallocated first and fsynced), print
//	                  "bytes ios elapsed_ns"
//	dioloop PATH      O_DIRECT 1 MiB writes of 64 MiB forever (an io antagonist)
//	dioread PATH      O_DIRECT 1 MiB reads of all of PATH, over and over, forever
//	bufw PATH MiB     ordinary (page cache) 1 MiB write()s of MiB, then fsync,
//	                  print "bytes write_ns total_ns"
//	fill PATH MiB     without CAP_SYS_RESOURCE, 64 KiB appends until refused
//	                  (or MiB written), print "bytes ERR" (ERR "ok" if none)
//	victim cpu|io PATH|mem MiB  a request every 5 ms, see victim
func MaybeChild() {
	mode := os.Getenv(childModeEnv)
	if mode == "" {
		return
	}
	if err := runChild(mode, os.Getenv(childArgEnv)); err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", mode, err)
		os.Exit(3)
	}
	os.Exit(0)
}

func runChild(mode, arg string) error {
	switch mode {
	case "busy":
		for {
		}
	case "alloc":
		mib, err := childMiB(mode, arg)
		if err != nil {
			return err
		}
		data := make([]byte, mib<<20)
		for i := 0; i < len(data); i += 4096 {
			data[i] = byte(i/4096) | 1
		}
		fmt.Println("ready")
		time.Sleep(time.Hour)
		runtime.KeepAlive(data)
		return nil
	case "churn":
		mib, err := childMiB(mode, arg)
		if err != nil {
			return err
		}
		data := make([]byte, mib<<20)
		for k := 0; ; k++ {
			for i := 0; i < len(data); i += 4096 {
				data[i] = byte(k)
			}
		}
	case "forkloop":
		limit := 0
		if arg != "" {
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 {
				return fmt.Errorf("forkloop %q: want a number of children, at least 1", arg)
			}
			limit = n
		}
		forkLoop(limit)
	case "dio":
		f := strings.Fields(arg)
		if len(f) != 4 || (f[0] != "r" && f[0] != "w") {
			return fmt.Errorf("dio %q: want \"r|w BS PATH MiB\"", arg)
		}
		bs, err1 := strconv.Atoi(f[1])
		mib, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || bs < 512 || mib < 1 {
			return fmt.Errorf("dio %q: want a block size of at least 512 bytes and at least 1 MiB", arg)
		}
		return directIO(f[0] == "w", bs, f[2], mib)
	case "dioloop":
		for {
			if err := directIO(true, 1<<20, arg, 64); err != nil {
				return err
			}
		}
	case "dioread":
		return directReadLoop(arg)
	case "bufw", "fill":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return fmt.Errorf("%s %q: want \"PATH MiB\"", mode, arg)
		}
		mib, err := childMiB(mode, f[1])
		if err != nil {
			return err
		}
		if mode == "bufw" {
			return bufferedWrite(f[0], mib)
		}
		return fill(f[0], mib)
	case "victim":
		return victim(arg)
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

func childMiB(mode, arg string) (int, error) {
	mib, err := strconv.Atoi(arg)
	if err != nil || mib < 1 {
		return 0, fmt.Errorf("%s %q: want a whole number of MiB, at least 1", mode, arg)
	}
	return mib, nil
}

// forkLoop forks paused children (one thread, no Go runtime calls) until
// the kernel refuses (or limit of them, 0 meaning no limit), prints
// "done N errno" ("done N max" at the limit) and pauses for good.
func forkLoop(limit int) {
	runtime.LockOSThread()
	n := 0
	for {
		if limit > 0 && n >= limit {
			fmt.Printf("done %d max\n", n)
			for {
				syscall.RawSyscall(syscall.SYS_PAUSE, 0, 0, 0)
			}
		}
		pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
		if errno != 0 {
			fmt.Printf("done %d %s\n", n, errno.Error())
			for {
				syscall.RawSyscall(syscall.SYS_PAUSE, 0, 0, 0)
			}
		}
		if pid == 0 {
			for {
				syscall.RawSyscall(syscall.SYS_PAUSE, 0, 0, 0)
			}
		}
		n++
	}
}

// directIO moves mib MiB of path with O_DIRECT in bs-byte page-aligned
// blocks and prints the bytes moved, the I/Os and the nanoseconds taken.
func directIO(write bool, bs int, path string, mib int) error {
	flags := unix.O_RDONLY | unix.O_DIRECT
	if write {
		flags = unix.O_RDWR | unix.O_CREAT | unix.O_DIRECT
	}
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	buf, err := unix.Mmap(-1, 0, bs, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	for i := range buf {
		buf[i] = 0xa5
	}
	total := int64(mib) << 20
	if write {
		if err := unix.Fallocate(fd, 0, 0, total); err != nil {
			return fmt.Errorf("fallocate %s: %w", path, err)
		}
	}
	start := time.Now()
	var moved, ios int64
	for off := int64(0); off < total; off += int64(bs) {
		var n int
		if write {
			n, err = unix.Pwrite(fd, buf, off)
		} else {
			n, err = unix.Pread(fd, buf, off)
		}
		if err != nil {
			return fmt.Errorf("%s at %d: %w", path, off, err)
		}
		moved += int64(n)
		ios++
	}
	if write {
		if err := unix.Fsync(fd); err != nil {
			return fmt.Errorf("fsync %s: %w", path, err)
		}
	}
	fmt.Printf("%d %d %d\n", moved, ios, time.Since(start).Nanoseconds())
	return nil
}

// Child is a child mode of this binary running inside a cgroup.
type Child struct {
	Cmd   *exec.Cmd
	Lines <-chan string // stdout line by line (unless kept in Out); closed at exit
	Out   *SyncBuffer   // stdout, when started with keep
	done  chan struct{}
	err   error
}

// StartChild re-executes exe (this binary: os.Executable, or quell-bench's
// own path) in mode with arg, directly inside the cgroup dir (clone3 with
// CLONE_INTO_CGROUP, so it never runs elsewhere); exe must call
// MaybeChild. With keep its stdout collects in Out, otherwise its lines
// arrive on Lines. Its stderr is ours. Stopping it is the caller's (Kill,
// or cgroup.kill when it forks).
func StartChild(exe, dir, mode, arg string, keep bool) (*Child, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer f.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ChildEnv(mode, arg)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	lines := make(chan string, 64)
	c := &Child{Cmd: cmd, Lines: lines, Out: &SyncBuffer{}, done: make(chan struct{})}
	var out io.ReadCloser
	if keep {
		cmd.Stdout = c.Out
	} else if out, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s in %s: %w", mode, dir, err)
	}
	go func() {
		if out != nil {
			s := bufio.NewScanner(out)
			for s.Scan() {
				lines <- s.Text()
			}
			_, _ = io.Copy(io.Discard, out)
		}
		c.err = cmd.Wait()
		close(c.done)
		close(lines)
	}()
	return c, nil
}

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Wait waits for the child to exit and returns how it ended (any number
// of times).
func (c *Child) Wait() error {
	<-c.done
	return c.err
}

// Line waits up to timeout for the child's next stdout line. A child that
// exits first, or says nothing in time, is an error.
func (c *Child) Line(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-c.Lines:
		if !ok {
			return "", fmt.Errorf("child exited without output: %v", c.Wait())
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("child said nothing in %v", timeout)
	}
}

// Kill sends SIGKILL (its forks, if any, stay: use cgroup.kill for them).
func (c *Child) Kill() { _ = c.Cmd.Process.Kill() }

// SyncBuffer is a bytes.Buffer one goroutine may write while another
// reads what was written so far.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *SyncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// String returns what was written so far.
func (w *SyncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
