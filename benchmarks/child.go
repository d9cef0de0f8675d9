package benchmarks

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var bg = context.Background()

// childEnv selects a helper mode when this binary (quell-bench or a test
// binary that calls MaybeChild from init) is re-executed by a case.
const (
	childEnv = "QUELL_BENCH_CHILD"
	childArg = "QUELL_BENCH_ARG"
)

// MaybeChild runs the helper mode named in the environment and exits; it
// returns at once when there is none. Call it first in main (or init).
func MaybeChild() {
	mode := os.Getenv(childEnv)
	if mode == "" {
		return
	}
	if err := runChild(mode, os.Getenv(childArg)); err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", mode, err)
		os.Exit(3)
	}
	os.Exit(0)
}

func runChild(mode, arg string) error {
	switch mode {
	case "busy":
		for {
		}
	case "alloc": // arg: MiB; touch them, say ready, wait
		mib, _ := strconv.Atoi(arg)
		data := make([]byte, mib<<20)
		for i := 0; i < len(data); i += 4096 {
			data[i] = 1
		}
		fmt.Println("ready")
		time.Sleep(time.Hour)
		runtime.KeepAlive(data)
	case "churn": // arg: MiB; keep touching them (a memory antagonist)
		mib, _ := strconv.Atoi(arg)
		data := make([]byte, mib<<20)
		for k := 0; ; k++ {
			for i := 0; i < len(data); i += 4096 {
				data[i] = byte(k)
			}
		}
	case "forkloop":
		return forkLoop()
	case "dio": // arg: "r|w bs path MiB"; prints "bytes ios ns"
		f := strings.Fields(arg)
		bs, _ := strconv.Atoi(f[1])
		mib, _ := strconv.Atoi(f[3])
		return directIO(f[0] == "w", bs, f[2], mib)
	case "dioloop": // arg: path; O_DIRECT 1 MiB writes forever (an io antagonist)
		for {
			if err := directIO(true, 1<<20, arg, 64); err != nil {
				return err
			}
		}
	case "victim": // arg: "cpu", "io PATH" or "mem MiB"
		return victim(arg)
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

func forkLoop() error {
	runtime.LockOSThread()
	n := 0
	for {
		pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
		if errno != 0 {
			fmt.Printf("done %d\n", n)
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

// directIO moves mib MiB of path with O_DIRECT in bs-byte blocks.
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
	total := int64(mib) << 20
	if write {
		_ = unix.Fallocate(fd, 0, 0, total)
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
	fmt.Printf("%d %d %d\n", moved, ios, time.Since(start).Nanoseconds())
	return nil
}

// victimSpec is what one victim request does besides its fixed CPU work.
type victimSpec struct {
	ioPath string // one 4 KiB O_DIRECT read of this file
	memMiB int    // touch 256 random pages of a working set this size
}

// parseVictim reads the victim's argument: "cpu", "io PATH" or "mem MiB".
// Anything else is an error: a victim that silently did less would make
// its case measure nothing.
func parseVictim(arg string) (victimSpec, error) {
	f := strings.Fields(arg)
	switch {
	case len(f) == 1 && f[0] == "cpu":
		return victimSpec{}, nil
	case len(f) == 2 && f[0] == "io":
		return victimSpec{ioPath: f[1]}, nil
	case len(f) == 2 && f[0] == "mem":
		mib, err := strconv.Atoi(f[1])
		if err != nil || mib < 1 {
			return victimSpec{}, fmt.Errorf("victim %q: the working set must be a whole number of MiB, at least 1", arg)
		}
		return victimSpec{memMiB: mib}, nil
	}
	return victimSpec{}, fmt.Errorf("victim %q: want \"cpu\", \"io PATH\" or \"mem MiB\"", arg)
}

// victim is a latency-sensitive service: a request every 5 ms doing a
// fixed amount of CPU work (and, for "io PATH", one 4 KiB O_DIRECT read;
// for "mem MiB", touching 256 random pages of a working set that size);
// it prints "unixµs latencyµs" per request.
func victim(arg string) error {
	spec, err := parseVictim(arg)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	var fd = -1
	var buf, ws []byte
	if spec.ioPath != "" {
		if fd, err = unix.Open(spec.ioPath, unix.O_RDONLY|unix.O_DIRECT, 0); err != nil {
			return fmt.Errorf("victim: open %s: %w", spec.ioPath, err)
		}
		if buf, err = unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE); err != nil {
			return err
		}
	}
	if spec.memMiB > 0 {
		ws = make([]byte, spec.memMiB<<20)
		for i := 0; i < len(ws); i += 4096 {
			ws[i] = 1
		}
	}
	next := time.Now()
	x := uint64(1)
	for i := 0; ; i++ {
		next = next.Add(5 * time.Millisecond)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		for j := 0; j < 20000; j++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if fd >= 0 {
			if _, err := unix.Pread(fd, buf, int64(i%4096)*4096); err != nil {
				return fmt.Errorf("victim: read %s: %w", spec.ioPath, err)
			}
		}
		for j, pages := 0, len(ws)/4096; j < 256 && pages > 0; j++ {
			x = x*6364136223846793005 + 1442695040888963407
			ws[int(x>>33)%pages*4096]++
		}
		fmt.Fprintf(w, "%d %d\n", time.Now().UnixMicro(), time.Since(next).Microseconds())
		if i%20 == 0 {
			w.Flush()
		}
	}
}

// proc is a helper process started inside a cgroup.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan error
	out   *lockedBuf
}

// startIn re-executes env.Self in mode, directly inside dir
// (clone3 CLONE_INTO_CGROUP). With keep, stdout is kept in p.out instead of
// arriving line by line on p.lines.
func startIn(env Env, dir, mode, arg string, keep bool) (*proc, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(env.Self)
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childArg+"="+arg, "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
	p := &proc{cmd: cmd, lines: make(chan string, 64), done: make(chan error, 1), out: &lockedBuf{}}
	var out io.ReadCloser
	if keep {
		cmd.Stdout = p.out
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
				p.lines <- s.Text()
			}
			_, _ = io.Copy(io.Discard, out)
		}
		p.done <- cmd.Wait()
		close(p.lines)
	}()
	return p, nil
}

// line waits for the next stdout line.
func (p *proc) line(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("helper exited without output: %v", <-p.done)
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("helper said nothing in %v", timeout)
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
}
