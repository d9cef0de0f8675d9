package enforcer

import (
	"context"
	"path/filepath"

	"github.com/quell-dev/quell/limits"
)

// Trigger lines armed on the host's pressure files: 100 ms of stall in a
// 500 ms window (needs CAP_SYS_RESOURCE), else 300 ms in 2 s (any window
// that is a multiple of 2 s works without it). The kernel checks a trigger
// every tenth of its window, so the 500 ms window fires 0.15–0.22 s after
// a CPU antagonist starts in the lab (150 ms in 1 s: 0.24–0.35 s); it
// fires at most twice a second per file while the stall lasts.
var triggerLines = []string{"some 100000 500000", "some 300000 2000000"}

// armPressure arms PSI triggers on /proc/pressure/{cpu,memory,io} and
// returns a channel that receives a value whenever any fires, so the loop
// can observe and detect at once instead of at the next tick. Files that
// cannot be armed (PSI off, old kernel) are logged and skipped: polling
// still covers them. The triggers close when ctx ends.
func (e *Enforcer) armPressure(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	for _, r := range []string{"cpu", "memory", "io"} {
		path := filepath.Join(e.cfg.ProcRoot, "pressure", r)
		var t *limits.Trigger
		var err error
		for _, line := range triggerLines {
			if t, err = limits.NewTrigger(path, line); err == nil {
				break
			}
		}
		if err != nil {
			e.log.Warn("PSI trigger not armed; relying on polling", "file", path, "err", err)
			continue
		}
		go func() {
			defer t.Close()
			for {
				select {
				case <-ctx.Done():
					return
				case _, ok := <-t.Events():
					if !ok {
						return
					}
					select {
					case out <- struct{}{}:
					default: // one pending wake-up is enough
					}
				}
			}
		}()
	}
	return out
}
