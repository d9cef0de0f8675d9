package discover

import (
	"strings"
	"testing"
)

func TestParseRootUpperdir(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, upper string
		overlay, err    bool
	}{
		{"overlay", "1 0 0:1 / / rw - overlay overlay rw,lowerdir=/a:/b,upperdir=/var/lib/docker/overlay2/x/diff,workdir=/w\n", "/var/lib/docker/overlay2/x/diff", true, false},
		{"escaped", `1 0 0:1 / / rw - overlay overlay rw,upperdir=/d/with\054comma\040space,workdir=/w` + "\n", "/d/with,comma space", true, false},
		{"stacked: topmost wins", "1 0 0:1 / / rw - overlay overlay rw,upperdir=/u1\n2 1 0:2 / / rw - xfs /dev/vda rw\n", "", false, false},
		{"read-only overlay", "1 0 0:1 / / ro - overlay overlay ro,lowerdir=/a:/b\n", "", true, false},
		{"plain root", "1 0 254:0 / / rw shared:1 - ext4 /dev/vda1 rw\n3 1 0:3 / /proc rw - proc proc rw\n", "", false, false},
		{"relative upper", "1 0 0:1 / / rw - overlay overlay rw,upperdir=u\n", "", true, true},
		{"no root", "3 1 0:3 / /proc rw - proc proc rw\n", "", false, true},
		{"garbage", "this is not mountinfo\n", "", false, true},
	}
	for _, c := range cases {
		upper, overlay, err := parseRootUpperdir(strings.NewReader(c.in))
		if upper != c.upper || (err == nil && overlay != c.overlay) || (err != nil) != c.err {
			t.Errorf("%s: got %q, %v, %v; want %q, %v, err %v", c.name, upper, overlay, err, c.upper, c.overlay, c.err)
		}
	}
}
