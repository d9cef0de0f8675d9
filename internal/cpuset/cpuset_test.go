package cpuset

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Set
		err  string // a substring of the error; "" for none
	}{
		{"", nil, ""},
		{" \n", nil, ""},
		{"0", Set{{0, 0}}, ""},
		{"0-3", Set{{0, 3}}, ""},
		{"0-3\n", Set{{0, 3}}, ""},
		{"0-3,8,10-11", Set{{0, 3}, {8, 8}, {10, 11}}, ""},
		{"8,0-3,4", Set{{0, 4}, {8, 8}}, ""},
		{"0,1,2,3", Set{{0, 3}}, ""},
		{"2-5,0-3", Set{{0, 5}}, ""},
		{" 1 ,2", Set{{1, 2}}, ""},
		{"65535", Set{{65535, 65535}}, ""},
		{"3-1", nil, `range "3-1" runs backwards`},
		{"0-", nil, "bad cpuset"},
		{"-3", nil, "bad cpuset"},
		{"1-", nil, "bad cpuset"},
		{"0,,1", nil, "bad cpuset"},
		{",", nil, "bad cpuset"},
		{"0,", nil, `bad cpuset "0," (use a list such as "0-3,8")`},
		{"a", nil, "bad cpuset"},
		{"0x3", nil, "bad cpuset"},
		{"+1", nil, "bad cpuset"},
		{"0-3-5", nil, "bad cpuset"},
		{"0 1", nil, "bad cpuset"},
		{"1.5", nil, "bad cpuset"},
		{"65536", nil, "id 65536 is too large"},
		{"70000", nil, "too large"},
		{"0-4294967295", nil, "too large"},
		{"99999999999999999999999", nil, "too large"},
		{"\x00", nil, "bad cpuset"},
	} {
		got, err := Parse(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Parse(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		case !reflect.DeepEqual(got, tc.want):
			t.Errorf("Parse(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func must(t *testing.T, list string) Set {
	t.Helper()
	s, err := Parse(list)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEqual(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		eq   bool
	}{
		{"0-3", "0,1,2,3", true},
		{"0-3\n", "3,2,1,0", true},
		{"", " ", true},
		{"0-3", "0-2", false},
		{"0,2", "0-2", false},
		{"", "0", false},
	} {
		if got := must(t, tc.a).Equal(must(t, tc.b)); got != tc.eq {
			t.Errorf("%q equal %q = %v, want %v", tc.a, tc.b, got, tc.eq)
		}
	}
}

func TestSubsetOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		in   bool
	}{
		{"1-2", "0-3", true},
		{"0,3", "0-3", true},
		{"0-3", "0-3", true},
		{"", "0", true},
		{"2-4", "0-3", false},
		{"0-3", "0-1,3", false},
		{"0", "", false},
	} {
		if got := must(t, tc.a).SubsetOf(must(t, tc.b)); got != tc.in {
			t.Errorf("%q subset of %q = %v, want %v", tc.a, tc.b, got, tc.in)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []byte
	}{
		{"", []byte{}},
		{"0", []byte{0x01}},
		{"0-7", []byte{0xff}},
		{"1,3", []byte{0x0a}},
		{" 8-9 ", []byte{0x00, 0x03}},
		{"0-2,16", []byte{0x07, 0x00, 0x01}},
	} {
		if got := must(t, tc.in).Mask(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q).Mask() = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}
