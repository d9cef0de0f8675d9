package state

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/detect"
	"github.com/quell-dev/quell/limits"
)

// oldState is a state file as quelld wrote it when a penalty had its own
// record type in this package (state.Penalty), written by hand from that
// type's JSON tags: a throttle with every value set and a freeze by a
// detector.
const oldState = `{"version":1,"originals":{"system.slice/a.scope":{"cpu.max":"max 100000"}},
"penalties":[
 {"id":"a","cgroup":"system.slice/a.scope","tenant":"","action":"throttle","rule":"cpu-contention","step":1,
  "factor":0.5,"since":"2026-11-23T17:00:00Z","deadline":"2026-11-23T18:00:00Z","reason":"too much CPU",
  "rule_name":"cpu-contention","name":"miner","cpu_quota":25000,"memory_high":1048576,"pids_max":40,
  "io_max":[{"Major":8,"Minor":0,"RBPS":0,"WBPS":1000000,"RIOPS":0,"WIOPS":10}]},
 {"id":"b","cgroup":"system.slice/b.scope","tenant":"","action":"freeze","rule":"miners","step":0,
  "since":"2026-11-23T17:00:00Z","deadline":"2026-11-23T18:00:00Z","reason":"a miner","detector":"miners"}
],"saved_at":"2026-11-23T17:00:01Z"}`

// A state file written by the old code loads with the same throttle it
// would have re-applied, and saving it again writes the same records.
func TestOldStateFileLoadsTheSameThrottle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(oldState), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ps := s.Penalties()
	if len(ps) != 2 {
		t.Fatalf("penalties = %+v, want 2", ps)
	}
	since, deadline := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	q, w, h, n := int64(25000), uint64(1), int64(1<<20), int64(40)
	want := detect.Penalty{Target: detect.Ref{ID: "a", Name: "miner", Cgroup: "system.slice/a.scope"}, Kind: detect.Throttle,
		Factor: 0.5, Rule: "cpu-contention", Step: 1, Since: since, Deadline: deadline, Reason: "too much CPU",
		Throttle: limits.Resources{CPUQuota: &q, CPUPeriod: limits.DefaultCPUPeriod, CPUWeight: &w, MemoryHigh: &h, PidsMax: &n,
			IOMax: []limits.IOMax{{Major: 8, Minor: 0, WBPS: 1_000_000, WIOPS: 10}}}}
	if !reflect.DeepEqual(ps[0], want) {
		t.Errorf("throttle loaded as\n%+v\nwant\n%+v", ps[0], want)
	}
	if got := ps[0].Throttle.Writes(); !reflect.DeepEqual(got, want.Throttle.Writes()) {
		t.Errorf("throttle writes %v", got)
	}
	if p := ps[1]; p.Kind != detect.Freeze || p.Detector != "miners" || p.Rule != "" || p.By() != "miners" ||
		!reflect.DeepEqual(p.Throttle, limits.Resources{}) {
		t.Errorf("freeze loaded as %+v", p)
	}

	// Written again, the records read back the same.
	s.SetPenalties(nil)
	s.SetPenalties(ps)
	if err := s.Save(deadline); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Penalties(); !reflect.DeepEqual(got, ps) {
		t.Errorf("after a save penalties = %+v, want %+v", got, ps)
	}
}
