package benchmarks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// quelldRun is a quelld started by a case with its own policy, state dir
// and socket in a temporary dir (labkit.Quelld), stopped with SIGTERM.
type quelldRun struct{ *labkit.Quelld }

// startQuelld writes policy and a daemon config (extra TOML lines) into a
// fresh dir and starts env.Quelld, waiting (30 s at most) until its socket
// exists.
func startQuelld(env Env, policy, config string) (*quelldRun, error) {
	dir, err := os.MkdirTemp("", "quell-bench-quelld-")
	if err != nil {
		return nil, err
	}
	q := labkit.NewQuelld(dir)
	q.Bin, q.Config = env.Quelld, config
	if err := q.SetPolicy(policy); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := q.Launch(30 * time.Second); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &quelldRun{q}, nil
}

// loop returns quelld's loop status from its API.
func (q *quelldRun) loop() (view.LoopStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := api.NewClient(q.Socket).View(ctx)
	if err != nil {
		return view.LoopStatus{}, err
	}
	return v.Loop, nil
}

func (q *quelldRun) hup() error { return q.Signal(syscall.SIGHUP) }

// stop stops quelld (killing it after 20 s) and removes its dir.
func (q *quelldRun) stop() {
	_ = q.Terminate(20 * time.Second)
	os.RemoveAll(q.Dir)
}

// cpuTime is quelld's user+system CPU time so far (/proc/PID/stat, ticks
// of 1/100 s) and its VmRSS in bytes.
func (q *quelldRun) cpuTime(procRoot string) (time.Duration, uint64, error) {
	pid := strconv.Itoa(q.Pid())
	b, err := os.ReadFile(filepath.Join(procRoot, pid, "stat"))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc/PID/stat")
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	var rss uint64
	st2, _ := os.ReadFile(filepath.Join(procRoot, pid, "status"))
	for _, l := range strings.Split(string(st2), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseUint(strings.Fields(l)[1], 10, 64)
			rss = kb << 10
		}
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, rss, nil
}

// waitFor polls cond every step until it holds or within passes.
func waitFor(within, step time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(step) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// container returns how quelld's API shows the container at cgroup rel
// (below the cgroup root, no leading "/"), and whether it lists one.
func (q *quelldRun) container(rel string) (view.ContainerView, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := api.NewClient(q.Socket).View(ctx)
	if err != nil {
		return view.ContainerView{}, false, err
	}
	for _, c := range v.Containers {
		if c.Cgroup == rel {
			return c, true, nil
		}
	}
	return view.ContainerView{}, false, nil
}

// actions are quelld's throttle, freeze and evict events so far, oldest
// first (none when the API fails).
func (q *quelldRun) actions() []view.Event {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs, err := api.NewClient(q.Socket).Events(ctx, 0, 1000, 0)
	if err != nil {
		return nil
	}
	var out []view.Event
	for _, ev := range evs {
		switch ev.Kind {
		case "throttle", "freeze", "evict":
			out = append(out, ev)
		}
	}
	return out
}
