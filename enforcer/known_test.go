package enforcer

import (
	"slices"
	"testing"
)

func TestSortedKnownFollowsTheSet(t *testing.T) {
	e := &Enforcer{known: map[string]*tracked{"b": {}, "a": {}, "c": {}}}
	if got := e.sortedKnown(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("sortedKnown = %q", got)
	}
	delete(e.known, "b") // one gone and one come: same size, other set
	e.known["0"] = &tracked{}
	if got := e.sortedKnown(); !slices.Equal(got, []string{"0", "a", "c"}) {
		t.Fatalf("after a swap: %q", got)
	}
	delete(e.known, "0")
	if got := e.sortedKnown(); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("after a removal: %q", got)
	}
}
