package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/test/labkit"
)

// cpusetCase: cpuset.cpus "1" (written by quell's limits package) on a
// cgroup running two busy loops on a 2-CPU host: the loops would use 2
// CPUs, the cpuset leaves them one. Achieved = CPUs used (cpu.stat); as a
// second check every thread of the cgroup is sampled every 50 ms and its
// /proc/TID/stat processor field (the CPU it last ran on) must be 1.
func cpusetCase() Case {
	const cpu = 1
	name := fmt.Sprintf("cpuset.cpus %q, 2 busy loops", strconv.Itoa(cpu))
	return Case{Section: Fidelity, Name: name, Est: 10 * time.Second,
		Needs: func(e Env) string {
			if runtime.NumCPU() < 2 {
				return "one CPU: a cpuset of one CPU would take nothing away"
			}
			if !strings.Contains(labkit.ReadFile(filepath.Join(e.CgroupRoot, "cgroup.controllers")), "cpuset") {
				return "no cpuset controller"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			c, err := newCgroup(env, "bench.slice/cpuset")
			if err != nil {
				return nil, err
			}
			defer c.remove()
			set := strconv.Itoa(cpu)
			if err := c.apply(limits.Resources{CpusetCPUs: &set}); err != nil {
				return nil, err
			}
			for i := 0; i < 2; i++ {
				if _, err := labkit.StartChild(env.Self, c.dir, "busy", "", false); err != nil {
					return nil, err
				}
			}
			time.Sleep(time.Second)
			ps := startPlacement(env.ProcRoot, c.dir, cpu, 50*time.Millisecond)
			win := pick(smoke, 3*time.Second, 8*time.Second)
			got, all, err := bestWindow(env, win, pick(smoke, 1, 3), 1, func(x []float64) float64 { return x[0] }, c)
			samples, off, where, perr := ps.end()
			if err != nil {
				return nil, err
			}
			if perr != nil {
				return nil, perr
			}
			all["thread_samples"] = float64(samples)
			all["off_cpuset_samples"] = float64(off)
			r := Result{Control: "cpuset.cpus", Case: name, Set: 1, Achieved: round(got, 4), Unit: "CPU", Extra: all,
				Method: fmt.Sprintf("cpuset.cpus %q via quell's limits package, 2 busy loops on %d CPUs; %s over %v; %s; every thread's /proc/TID/stat processor sampled every 50 ms (off_cpuset_samples: on another CPU%s)",
					set, runtime.NumCPU(), methodCPU, win, bestNote, where)}
			return crossChecked(env, []Result{r.WithError()}, c)
		}}
}

// placement samples the CPU each thread of a cgroup last ran on.
type placement struct {
	mu               sync.Mutex
	samples, off     int
	where            map[int]int // CPU → samples there
	errs             []error
	stop, done       chan struct{}
	procRoot, cgroup string
	want             int
}

func startPlacement(procRoot, dir string, want int, step time.Duration) *placement {
	p := &placement{where: map[int]int{}, stop: make(chan struct{}), done: make(chan struct{}), procRoot: procRoot, cgroup: dir, want: want}
	go func() {
		defer close(p.done)
		for {
			p.once()
			select {
			case <-p.stop:
				return
			case <-time.After(step):
			}
		}
	}()
	return p
}

func (p *placement) once() {
	tids := strings.Fields(labkit.ReadFile(filepath.Join(p.cgroup, "cgroup.threads")))
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(tids) == 0 {
		p.errs = append(p.errs, fmt.Errorf("no thread in %s", p.cgroup))
		return
	}
	for _, tid := range tids {
		b, err := os.ReadFile(filepath.Join(p.procRoot, tid, "stat"))
		if errors.Is(err, os.ErrNotExist) {
			continue // a thread that just ended
		}
		if err != nil {
			p.errs = append(p.errs, err)
			continue
		}
		cpu, err := parseStatProcessor(b)
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("/proc/%s/stat: %w", tid, err))
			continue
		}
		p.samples++
		p.where[cpu]++
		if cpu != p.want {
			p.off++
		}
	}
}

// end stops sampling and returns the samples, those on another CPU than
// the cpuset's and a note of where they were; an error when a read
// failed or nothing was sampled.
func (p *placement) end() (samples, off int, where string, err error) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) > 0 {
		return 0, 0, "", fmt.Errorf("placement: %w", errors.Join(p.errs...))
	}
	if p.samples == 0 {
		return 0, 0, "", errors.New("placement: no thread sampled")
	}
	if p.off > 0 {
		where = fmt.Sprintf("; CPUs seen: %v", p.where)
	}
	return p.samples, p.off, where, nil
}

// parseStatProcessor returns field 39 of /proc/PID/stat (processor: the
// CPU the task last ran on). The command name, field 2, may hold spaces
// and parentheses: fields are counted after its last ')'.
func parseStatProcessor(b []byte) (int, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("no ')' closing the command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field 39 is f[36].
	if len(f) < 37 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 37", len(f))
	}
	cpu, err := strconv.Atoi(f[36])
	if err != nil || cpu < 0 {
		return 0, fmt.Errorf("processor %q is not a CPU number", f[36])
	}
	return cpu, nil
}
