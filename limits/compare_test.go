package limits

import "testing"

func TestEquivalent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, got, want string
		eq, rounded     bool
	}{
		{"memory.max", "max", "max", true, false},
		{"memory.max", "4096", "4097", true, true},
		{"memory.max", "4096", "8191", true, true},
		{"memory.max", "4096", "8192", false, false},
		{"memory.max", "max", "4096", false, false},
		{"memory.swap.max", "67108864", "67109000", true, true},
		{"memory.high", "garbage", "4096", false, false},
		{"cpu.max", "50000 100000", "50000 100000", true, false},
		{"cpu.max", "50000 100000", "50000", true, false},
		{"cpu.max", "max 100000", "max  100000\n", true, false},
		{"cpu.max", "max 100000", "50000 100000", false, false},
		{"cpu.max", "50000 100000", "50000 50000", false, false},
		{"cpuset.cpus", "0-3", "0,1,2,3", true, false},
		{"cpuset.cpus", "0-3", "3,2,1-0", false, false}, // 1-0 is invalid
		{"cpuset.cpus", "0-3", "0-2", false, false},
		{"cpuset.cpus", "", "", true, false},
		{"cpuset.mems", "0", "0-0", true, false},
		{"io.max", "8:0 rbps=max wbps=5 riops=max wiops=max", "8:0 wbps=5", true, false},
		{"io.max", "8:0 rbps=max wbps=5 riops=max wiops=max", "8:0 wiops=max wbps=5 riops=max rbps=max", true, false},
		{"io.max", "8:0 rbps=max wbps=5 riops=max wiops=max", "8:16 wbps=5", false, false},
		{"io.max", "8:0 rbps=max wbps=5 riops=max wiops=max", "8:0 wbps=6", false, false},
		{"io.max", "8:0 rbps=max wbps=max riops=max wiops=max", "8:0", true, false},
		{"io.max", "bogus", "8:0", false, false},
		{"io.max", "8:0 rbps=max wbps=5 riops=max wiops=max", "8:0 wbps=5 foo=1", false, false},
		{"io.weight", "default 100", "default  100", true, false},
		{"pids.max", "max", "max", true, false},
		{"pids.max", "10", "max", false, false},
	} {
		eq, rounded := equivalent(tc.file, tc.got, tc.want, 4096)
		if eq != tc.eq || rounded != tc.rounded {
			t.Errorf("equivalent(%s, %q, %q) = %v,%v want %v,%v", tc.file, tc.got, tc.want, eq, rounded, tc.eq, tc.rounded)
		}
	}
}
