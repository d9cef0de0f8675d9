package enforcer

import (
	"io"
	"log/slog"
	"testing"

	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
)

// The recorder keeps the last max events whatever the number added, in
// order, through every reader (and the store).
func TestRecorderKeepsTheLastMaxEvents(t *testing.T) {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(st, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for n := 1; n <= 47; n++ {
		r.add(view.Event{Kind: "limit", Cgroup: "a"})
		want := min(n, 10)
		got, _ := r.since(0, 0)
		if len(got) != want || got[len(got)-1].Seq != uint64(n) || got[0].Seq != uint64(n-want+1) {
			t.Fatalf("after %d adds: since(0) = %d events, seq %d..%d; want the last %d (seq %d..%d)",
				n, len(got), got[0].Seq, got[len(got)-1].Seq, want, n-want+1, n)
		}
		if rec := r.recent(100); len(rec) != want || rec[0].Seq != uint64(n-want+1) {
			t.Fatalf("after %d adds: recent(100) = %d events from seq %d", n, len(rec), rec[0].Seq)
		}
		if ft := r.forTarget("", "a"); len(ft) != want {
			t.Fatalf("after %d adds: forTarget = %d events, want %d", n, len(ft), want)
		}
	}
	if got, _ := r.since(44, 0); len(got) != 3 || got[0].Seq != 45 {
		t.Errorf("since(44) = %+v, want seq 45..47", got)
	}
	r.flush()
	again := newRecorder(st, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if got, _ := again.since(0, 0); len(got) != 10 || got[0].Seq != 38 || again.seq != 47 {
		t.Errorf("reloaded from the store: %d events from seq %d, next after %d; want 10 from 38, after 47", len(got), got[0].Seq, again.seq)
	}
}
