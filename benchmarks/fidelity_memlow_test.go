package benchmarks

import "testing"

func TestLowShortfallOnlyBelow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, set, want float64 }{
		{130.5, 128, 0}, // kept more than protected: not an error
		{128, 128, 0},
		{96, 128, -25},
		{0, 128, -100},
		{10, 0, 0},
	} {
		if e := lowShortfallPct(tc.got, tc.set); e != tc.want {
			t.Errorf("lowShortfallPct(%v, %v) = %v, want %v", tc.got, tc.set, e, tc.want)
		}
	}
}
