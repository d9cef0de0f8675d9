package detect

import (
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

func TestRestore(t *testing.T) {
	t.Parallel()
	w := newWorld(t, Config{}, nil, nil,
		unit("frozen-live", policies.BestEffort, "ci", 1), unit("throttled-old", policies.BestEffort, "ci", 1))
	ref := func(id string) Ref { return Ref{ID: id, Name: id, Cgroup: "system.slice/docker-" + id + ".scope"} }
	saved := []Penalty{
		{Target: ref("frozen-live"), Kind: Freeze, Rule: "r", Step: 1, Since: t0.Add(-10 * time.Second), Deadline: t0.Add(20 * time.Second)},
		{Target: ref("throttled-old"), Kind: Throttle, Factor: 0.5, Rule: "r", Since: t0.Add(-2 * time.Minute), Deadline: t0.Add(-time.Minute)},
		{Target: ref("frozen-old"), Kind: Freeze, Rule: "r", Since: t0.Add(-time.Hour), Deadline: t0},
		{Target: ref("gone-live"), Kind: Throttle, Factor: 0.2, Detector: "d", Deadline: t0.Add(time.Hour)},
		{Target: ref("x"), Kind: Evict, Deadline: t0.Add(time.Hour)}, // not a penalty: ignored
	}
	acts := w.e.Restore(saved)
	var got []string
	for _, a := range acts {
		got = append(got, string(a.Kind)+" "+a.Target.ID)
	}
	sameList(t, "lifted at restore", got, []string{"unthrottle throttled-old", "thaw frozen-old"})
	if n := len(w.e.Penalties()); n != 2 {
		t.Fatalf("kept %d penalties, want the 2 live ones", n)
	}
	// gone-live is not in the first snapshot: lifted at once. frozen-live
	// is thawed at its deadline.
	sameList(t, "ticks", w.run(0, 25), []string{"0s unthrottle gone-live", "20s thaw frozen-live"})
	if n := len(w.e.Penalties()); n != 0 {
		t.Fatalf("penalties left: %+v", w.e.Penalties())
	}
}
