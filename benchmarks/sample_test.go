package benchmarks

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseCgroupUint(t *testing.T) {
	t.Parallel()
	if v, err := parseCgroupUint("memory.current", "67108864\n"); err != nil || v != 64<<20 {
		t.Errorf("67108864: %d, %v", v, err)
	}
	for _, s := range []string{"max\n", "", "-1", "12 34"} {
		if _, err := parseCgroupUint("pids.current", s); err == nil || !strings.Contains(err.Error(), "pids.current") {
			t.Errorf("%q: err %v, want one naming the file", s, err)
		}
	}
}

func TestSamplerKeepsExtremesAndNeverCountsAFailureAsZero(t *testing.T) {
	t.Parallel()
	vals := []uint64{5, 9, 0, 3, 7}
	var i atomic.Int32
	s := startSampler(time.Millisecond, func() (uint64, error) {
		k := int(i.Add(1)) - 1
		if k >= len(vals) {
			return 0, errors.New("gone")
		}
		if vals[k] == 0 {
			return 0, errors.New("read failed") // not a zero
		}
		return vals[k], nil
	})
	waitFor(5*time.Second, time.Millisecond, func() bool { return int(i.Load()) > len(vals)+2 })
	lo, hi, n, err := s.end()
	if err != nil || lo != 3 || hi != 9 || n != 4 {
		t.Fatalf("lo %d hi %d n %d err %v; want 3, 9, 4, nil", lo, hi, n, err)
	}
	if _, _, _, err := s.end(); err != nil { // a second end is fine
		t.Fatal(err)
	}
	bad := startSampler(time.Millisecond, func() (uint64, error) { return 0, errors.New("no such file") })
	time.Sleep(5 * time.Millisecond)
	if _, _, _, err := bad.end(); err == nil {
		t.Fatal("a sampler whose every read failed returned no error")
	}
}
