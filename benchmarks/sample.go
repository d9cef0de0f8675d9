package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sampler calls read every step in the background and keeps the
// smallest and largest values seen and how many reads failed. A failed
// read is counted, never taken for a zero.
type sampler struct {
	mu       sync.Mutex
	lo, hi   uint64
	n, fails int
	stop     chan struct{}
	done     chan struct{}
}

// startSampler reads once at once, then every step until end.
func startSampler(step time.Duration, read func() (uint64, error)) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			v, err := read()
			s.add(v, err)
			select {
			case <-s.stop:
				return
			case <-time.After(step):
			}
		}
	}()
	return s
}

func (s *sampler) add(v uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.fails++
		return
	}
	if s.n == 0 || v < s.lo {
		s.lo = v
	}
	if s.n == 0 || v > s.hi {
		s.hi = v
	}
	s.n++
}

// end stops the sampler (any number of times) and returns the smallest
// and largest values and the number of good reads; an error when no read
// succeeded.
func (s *sampler) end() (lo, hi uint64, n int, err error) {
	select {
	case <-s.done:
	default:
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return 0, 0, 0, fmt.Errorf("no good sample (%d failed reads)", s.fails)
	}
	return s.lo, s.hi, s.n, nil
}

// readCgroupUint reads a cgroup file holding one number ("max" is an
// error: the callers read usage, never a limit that may be unset).
func readCgroupUint(dir, file string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	return parseCgroupUint(file, string(b))
}

func parseCgroupUint(file, s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", file, strings.TrimSpace(s))
	}
	return v, nil
}

// sumOver reads file in every dir and adds the values up.
func sumOver(file string, dirs ...string) (uint64, error) {
	var sum uint64
	for _, d := range dirs {
		v, err := readCgroupUint(d, file)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// failed is how many reads failed so far.
func (s *sampler) failed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fails
}

func mib(b uint64) float64 { return round(float64(b)/(1<<20), 3) }
