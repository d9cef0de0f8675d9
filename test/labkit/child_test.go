package labkit

import (
	"strings"
	"testing"
	"time"
)

func TestParseVictimRefusesWhatItCannotDo(t *testing.T) {
	t.Parallel()
	for arg, want := range map[string]victimSpec{"cpu": {}, "io /mnt/slow/f": {ioPath: "/mnt/slow/f"}, "mem 494": {memMiB: 494}} {
		got, err := parseVictim(arg)
		if err != nil || got != want {
			t.Errorf("parseVictim(%q) = %+v, %v; want %+v", arg, got, err, want)
		}
	}
	for _, arg := range []string{"", "mem", "mem x", "mem 0", "mem -5", "io", "disk /x", "cpu extra"} {
		if _, err := parseVictim(arg); err == nil || !strings.Contains(err.Error(), "victim") {
			t.Errorf("parseVictim(%q): err = %v, want an error naming the victim", arg, err)
		}
	}
}

// A bad argument is an error before the mode does anything.
func TestChildModesRefuseBadArguments(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{{"alloc", ""}, {"alloc", "x"}, {"churn", "0"}, {"dio", "w 4096 /x"},
		{"dio", "x 4096 /x 1"}, {"dio", "w 100 /x 1"}, {"dio", "r 4096 /x 0"}, {"victim", "mem"}, {"sleep", ""},
		{"bufw", "/x"}, {"bufw", "/x 0"}, {"fill", "/x y"}, {"fill", ""}} {
		if err := runChild(c[0], c[1]); err == nil {
			t.Errorf("runChild(%q, %q) = nil, want an error", c[0], c[1])
		}
	}
}

func TestLatenciesAndPercentile(t *testing.T) {
	t.Parallel()
	t0 := time.UnixMicro(1_000_000)
	out := "1000001 30\n1000002 10\ngarbage\n1000003 x\n1000004 20 extra\n1000005 40\n2000000 99\n"
	ls := Latencies(out, t0, t0.Add(time.Second))
	if len(ls) != 3 || ls[0] != 30 || ls[1] != 10 || ls[2] != 40 {
		t.Fatalf("Latencies = %v, want [30 10 40] (the garbage and the late line skipped)", ls)
	}
	for p, want := range map[float64]float64{0: 10, 50: 30, 99: 40, 100: 40} {
		if got := Percentile(ls, p); got != want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", ls, p, got, want)
		}
	}
	if Percentile(nil, 99) != 0 || ls[0] != 30 {
		t.Error("Percentile of nothing is not 0, or it reordered its input")
	}
}

func TestLastLatencySkipsPartialAndGarbageLines(t *testing.T) {
	t.Parallel()
	for out, want := range map[string]float64{
		"1 30\n2 40\n":            40,
		"1 30\n2 40\n3 5":         40, // the last line is still being written
		"1 30\n2 40\ngarbage\n\n": 40,
		"1 7\n":                   7,
	} {
		if got, ok := LastLatency(out); !ok || got != want {
			t.Errorf("LastLatency(%q) = %v, %v; want %v", out, got, ok, want)
		}
	}
	for _, out := range []string{"", "1 30", "garbage\n"} {
		if got, ok := LastLatency(out); ok {
			t.Errorf("LastLatency(%q) = %v, true; want none", out, got)
		}
	}
}
