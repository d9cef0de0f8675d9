package benchmarks

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseBufw(t *testing.T) {
	t.Parallel()
	n, w, s, err := parseBufw("41943040 8490000000 10420000000")
	if err != nil || n != 40<<20 || w != 8.49 || s != 10.42 {
		t.Fatalf("got %d %v %v %v", n, w, s, err)
	}
	for _, bad := range []string{"", "1 2", "1 2 3 4", "x 1 2", "1 x 2", "1 2 x", "0 1 2", "1 0 2", "1 3 2", "-1 1 2"} {
		if _, _, _, err := parseBufw(bad); err == nil {
			t.Errorf("parseBufw(%q) = nil error", bad)
		}
	}
}

func TestParseFill(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int64
		why  string
		fail bool
	}{
		{"8384512 EDQUOT", 8384512, "EDQUOT", false},
		{"33554432 ok", 33554432, "ok", false},
		{"0 ENOSPC", 0, "ENOSPC", false},
		{"", 0, "", true}, {"12", 0, "", true}, {"x EDQUOT", 0, "", true}, {"-1 EDQUOT", 0, "", true}, {"1 EDQUOT extra", 0, "", true},
	} {
		n, why, err := parseFill(c.in)
		if (err != nil) != c.fail || n != c.n || why != c.why {
			t.Errorf("parseFill(%q) = %d %q %v", c.in, n, why, err)
		}
	}
}

// Every row the new fidelity cases emit is judged by its own target, and
// the io.weight baseline (iocost off) only as a reference.
func TestNewFidelityRowsHaveTargets(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		control, name string
		ref           bool
	}{
		{"io.max buffered", "io.max wbps buffered ext4", false},
		{"io.max buffered", "io.max wbps buffered xfs", false},
		{"io.weight", "io.weight 200:100 iocost", false},
		{"io.weight", "io.weight 200:100 without iocost (baseline)", true},
		{"disk quota ext4", "quota ext4 bytes 8 MiB, write through the overlay", false},
		{"net tenant egress", "net tenant egress 20 Mbit over 2 veths", false},
		{"net tenant ingress", "net tenant ingress 20 Mbit over 2 veths", false},
	} {
		vs := Judge([]Result{fid(c.control, c.name, 2, 2)}, Targets, false)
		if len(vs) != 1 || vs[0].Target == nil || vs[0].Ref != c.ref || !vs[0].Pass || strings.Contains(vs[0].Target.Why, "PROVISIONAL") {
			t.Errorf("%s: verdicts %+v", c.name, vs)
		}
	}
	// The baseline may be anything; the iocost row may not.
	if vs := Judge([]Result{fid("io.weight", "io.weight 200:100 without iocost (baseline)", 2, 1)}, Targets, false); len(vs) != 1 || !vs[0].Pass {
		t.Errorf("baseline 1:1 judged %+v", vs)
	}
	if vs := Judge([]Result{fid("io.weight", "io.weight 200:100 iocost", 2, 1)}, Targets, false); len(vs) != 1 || vs[0].Pass {
		t.Errorf("iocost 1:1 judged %+v", vs)
	}
}

func TestWritebackRates(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	var s []ioSample
	// Nothing for 2 s, then 4 MiB/s for 4 s, with 1 s at 8 MiB/s in the middle.
	for i := 0; i <= 24; i++ {
		at := time.Duration(i) * 250 * time.Millisecond
		var b float64
		switch {
		case at <= 2*time.Second:
		case at <= 4*time.Second:
			b = float64(at-2*time.Second) / float64(time.Second) * (4 << 20)
		case at <= 5*time.Second:
			b = 8<<20 + float64(at-4*time.Second)/float64(time.Second)*(8<<20)
		default:
			b = 16<<20 + float64(at-5*time.Second)/float64(time.Second)*(4<<20)
		}
		s = append(s, ioSample{t0.Add(at), b})
	}
	steady, peak := writebackRates(s, 2*time.Second)
	// From 2.25 s (1 MiB) to 6 s: 19 MiB in 3.75 s; peak: 3.5..5.5 s or so, 12 MiB/2 s.
	if math.Abs(steady-19.0/3.75*(1<<20)) > 1 || math.Abs(peak-6*(1<<20)) > 1 {
		t.Fatalf("steady %.3f MiB/s, peak %.3f MiB/s", steady/(1<<20), peak/(1<<20))
	}
	if st, pk := writebackRates(s[:3], 2*time.Second); st != 0 || pk != 0 {
		t.Fatalf("no writeback yet: %v %v", st, pk)
	}
}
