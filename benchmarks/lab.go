package benchmarks

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// ResultPrefix starts a line carrying one Result as JSON on a guest's
// output, so the host can collect results from a lab run.
const ResultPrefix = "QBRESULT "

// EmitTo returns a Suite.Emit that prints each Result as a ResultPrefix
// line to w.
func EmitTo(w io.Writer) func(Result) {
	return func(r Result) {
		b, _ := json.Marshal(r)
		fmt.Fprintf(w, "%s%s\n", ResultPrefix, b)
	}
}

// RunLab runs argv (a "lab run … -- 'quell-bench run --emit …'" command),
// passes its output through to progress and returns the Results it
// carried. A non-zero exit is returned with what was collected.
func RunLab(ctx context.Context, argv []string, progress io.Writer) ([]Result, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = progress
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rs := ParseResults(out, progress)
	return rs, cmd.Wait()
}

// ParseResults reads lines from r: ResultPrefix lines become Results,
// every other line is copied to pass.
func ParseResults(r io.Reader, pass io.Writer) []Result {
	var rs []Result
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		l := s.Text()
		if i := strings.Index(l, ResultPrefix); i >= 0 {
			var x Result
			if err := json.Unmarshal([]byte(l[i+len(ResultPrefix):]), &x); err == nil {
				rs = append(rs, x)
				continue
			}
		}
		fmt.Fprintln(pass, l)
	}
	return rs
}

// GoBench runs the hot-path Go benchmarks with allocation counts in the
// module at dir and returns their output.
func GoBench(ctx context.Context, goBin, dir string, pkgs []string) (string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "200ms"}, pkgs...)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "cpu:") || strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "ok") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n"), err
}

// GoBenchResults turns the enforcer's BenchmarkTick lines of GoBench's
// output into Overhead rows "per idle container per pass @n": µs per
// container (the benchmark's own metric) and allocs per container.
func GoBenchResults(out, on string) []Result {
	var rs []Result
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "BenchmarkTick/containers=") {
			continue
		}
		f := strings.Fields(l)
		n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f[0], "BenchmarkTick/containers="), "-", 2)[0])
		if err != nil || n <= 0 {
			continue
		}
		var us, allocs float64 = -1, -1
		for i := 1; i+1 < len(f); i++ {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "µs/container":
				us = v
			case "allocs/op":
				allocs = v / float64(n)
			}
		}
		r := Result{Section: Overhead, Control: "per idle container per pass", Case: fmt.Sprintf("per idle container per pass @%d", n),
			Set: float64(n), Unit: "µs", On: on, Extra: map[string]float64{"cgroups": float64(n)},
			Method: "go test -bench BenchmarkTick ./enforcer (fake cgroup tree, one full pass, nothing to change)"}
		if us < 0 || allocs < 0 {
			r.Err = "could not read µs/container and allocs/op from: " + l
		} else {
			r.Achieved = round(us, 2)
			r.Extra["allocs"] = round(allocs, 1)
		}
		rs = append(rs, r)
	}
	return rs
}
