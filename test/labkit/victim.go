package labkit

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

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

// victim is a latency-sensitive service: a request arrives every 5 ms and
// does a fixed amount of CPU work (about 100-300 µs under TCG; for
// "io PATH" also one 4 KiB O_DIRECT read, for "mem MiB" a touch of 256
// random pages of a working set that size). It prints "unixµs latencyµs"
// per request (arrival to done; read them with Latencies) until killed.
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

// Latencies returns the second figure of the "unixµs figure" lines in out
// (a victim's latencies, or any helper printing that shape) whose time
// lies strictly between from and to. Other lines are skipped.
func Latencies(out string, from, to time.Time) []float64 {
	var ls []float64
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		at, err1 := strconv.ParseInt(f[0], 10, 64)
		l, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if ts := time.UnixMicro(at); ts.After(from) && ts.Before(to) {
			ls = append(ls, l)
		}
	}
	return ls
}

// LastLatency is the latency on the last whole "unixµs latencyµs" line of
// a victim's out; ok is false when there is none yet. A victim that fell
// behind (a request that took seconds) runs its late requests back to back,
// each counted from when it was due, until it catches up: those lines
// belong to the stall that caused them, not to the window they end in.
func LastLatency(out string) (us float64, ok bool) {
	out = out[:strings.LastIndexByte(out, '\n')+1] // a line being written is not whole
	for len(out) > 0 {
		out = out[:len(out)-1]
		line := out[strings.LastIndexByte(out, '\n')+1:]
		out = out[:len(out)-len(line)]
		if f := strings.Fields(line); len(f) == 2 {
			if _, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				if l, err := strconv.ParseFloat(f[1], 64); err == nil {
					return l, true
				}
			}
		}
	}
	return 0, false
}

// Percentile is the nearest-rank p-th percentile of xs (0 for none); xs
// is not changed.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(p/100*float64(len(s)-1)+0.5)]
}
