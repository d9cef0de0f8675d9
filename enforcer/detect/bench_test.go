package detect

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/quell-dev/quell/policies"
)

func manyUnits(n int) []Unit {
	us := make([]Unit, n)
	classes := []policies.Class{policies.BestEffort, policies.Burstable, policies.Guaranteed}
	for i := range us {
		us[i] = unit(fmt.Sprintf("u%04d", i), classes[i%3], fmt.Sprintf("t%02d", i%40), float64(i%17)/8)
		us[i].Processes = []string{"bash", "node", "/usr/bin/python3"}
		us[i].Endpoints = []netip.AddrPort{netip.MustParseAddrPort("93.184.216.34:443")}
	}
	return us
}

func allDetectors() []policies.Detector {
	return []policies.Detector{
		miner(),
		{Name: "p", Kind: KindProcessName, Names: []string{"xmr*", "minerd"}, Action: "evict"},
		{Name: "e", Kind: KindEndpoint, Ports: []int{3333, 4444}, Addresses: []string{"198.51.100.0/24"}, Action: "evict"},
	}
}

func TestMemoryBoundedPerUnit(t *testing.T) {
	// Not parallel: measures the heap.
	units := manyUnits(200)
	e, err := NewEngine(Config{}, []policies.Rule{cpuRule()}, allDetectors())
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	now := t0
	tick := func(n int) {
		for range n {
			e.Tick(Snapshot{Time: now, Host: map[string]float64{"host.cpu.some.avg10": 10}, Units: units})
			now = now.Add(time.Second)
		}
	}
	tick(100)
	before := heap()
	tick(600) // 10 windows of the flat-cpu detector
	after := heap()
	if grow := int64(after) - int64(before); grow > 256<<10 {
		t.Fatalf("heap grew by %d bytes over 3000 ticks of 200 units", grow)
	}
	de := e.dets[0]
	targetable := 0
	for i := range units {
		if de.targetable(&units[i]) {
			targetable++
		}
	}
	if len(de.rings) != targetable {
		t.Fatalf("%d rings for %d targetable units", len(de.rings), targetable)
	}
	// Units that leave take their state with them.
	units = units[:10] // 7 of them targetable (not guaranteed within limits)
	tick(1)
	if len(de.rings) != 7 {
		t.Fatalf("%d rings after units left, want 10", len(de.rings))
	}
}

func BenchmarkTick1000Units(b *testing.B) {
	units := manyUnits(1000)
	e, err := NewEngine(Config{}, []policies.Rule{cpuRule()}, allDetectors())
	if err != nil {
		b.Fatal(err)
	}
	host := map[string]float64{"host.cpu.some.avg10": 10}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Tick(Snapshot{Time: now, Host: host, Units: units})
		now = now.Add(time.Second)
	}
}

func BenchmarkTick1000UnitsUnderPressure(b *testing.B) {
	units := manyUnits(1000)
	e, err := NewEngine(Config{}, []policies.Rule{cpuRule()}, allDetectors())
	if err != nil {
		b.Fatal(err)
	}
	host := map[string]float64{"host.cpu.some.avg10": 80}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Tick(Snapshot{Time: now, Host: host, Units: units})
		now = now.Add(time.Second)
	}
}
