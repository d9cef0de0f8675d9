//go:build lab

package kernel

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// quelld is a running quelld under test (labkit.Quelld with the test's
// failure handling).
type quelld struct {
	*labkit.Quelld
	t           *testing.T
	dir, socket string
}

// startQuelld writes policy into a fresh policy dir and starts bin/quelld
// (on the lab's PATH) with its own state dir and socket. It is stopped with
// SIGTERM at cleanup.
func startQuelld(t *testing.T, policy string, args ...string) *quelld {
	t.Helper()
	lq := labkit.StartQuelld(t, t.TempDir(), policy, args...)
	return &quelld{Quelld: lq, t: t, dir: lq.Dir, socket: lq.Socket}
}

func (q *quelld) writePolicy(policy string) { q.WritePolicy(policy) }
func (q *quelld) start()                    { q.Start() }
func (q *quelld) stop()                     { q.Stop() }
func (q *quelld) kill9()                    { q.Kill9() }

// quell runs the CLI against this quelld and returns stdout; a failure
// fails the test.
func (q *quelld) quell(args ...string) string {
	q.t.Helper()
	out, err := q.Quell(args...)
	if err != nil {
		q.t.Fatal(err)
	}
	return out
}

func (q *quelld) view() view.View {
	q.t.Helper()
	var v view.View
	out := q.quell("top", "--once", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		q.t.Fatalf("quell top --once --json: %v\n%s", err, out)
	}
	return v
}

func (q *quelld) events() []view.Event {
	q.t.Helper()
	var evs []view.Event
	out := q.quell("events", "--json", "--limit", "1000")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var ev view.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			// Also accept a JSON array.
			if err2 := json.Unmarshal([]byte(out), &evs); err2 == nil {
				return evs
			}
			q.t.Fatalf("quell events --json: %v\n%s", err, out)
		}
		evs = append(evs, ev)
	}
	return evs
}

// waitFile waits until path holds want (trimmed) and returns how long it took.
func waitFile(t *testing.T, path, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := strings.TrimSpace(labkit.ReadFile(path))
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s = %q after %v, want %q", path, got, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpuOver measures the CPUs used by the cgroup dirs together over d, from
// cpu.stat usage_usec.
func cpuOver(t *testing.T, d time.Duration, dirs ...string) (total float64, each []float64) {
	t.Helper()
	before := make([]time.Duration, len(dirs))
	for i, dir := range dirs {
		u, err := labkit.CPUUsage(dir)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = u
	}
	start := time.Now()
	time.Sleep(d)
	el := time.Since(start).Seconds()
	each = make([]float64, len(dirs))
	for i, dir := range dirs {
		u, err := labkit.CPUUsage(dir)
		if err != nil {
			t.Fatal(err)
		}
		each[i] = (u - before[i]).Seconds() / el
		total += each[i]
	}
	return total, each
}

func busyArgs(n int) []string {
	if n == 1 {
		return []string{"sh", "-c", "while :; do :; done"}
	}
	return []string{"sh", "-c", fmt.Sprintf("for i in $(seq %d); do (while :; do :; done) & done; wait", n)}
}
