package benchmarks

import (
	"strings"
	"testing"
)

func fid(control, name string, set, got float64) Result {
	return Result{Section: Fidelity, Control: control, Case: name, Set: set, Achieved: got, Unit: "CPU"}.WithError()
}

func TestJudgeMissPassErrorAndUnjudged(t *testing.T) {
	t.Parallel()
	rs := []Result{
		fid("cpu.max", "cpu.max 0.50 CPU", 0.5, 0.501),                                  // +0.2%: pass
		fid("cpu.max", "cpu.max 1.50 CPU", 1.5, 1.8),                                    // +20%: miss
		{Section: Fidelity, Control: "cpu.max", Case: "cpu.max 0.25 CPU", Err: "boom"},  // errored case
		{Section: Fidelity, Control: "frobnicate", Case: "frob 1", Set: 1, Achieved: 1}, // no target
	}
	vs := Judge(rs, Targets, false)
	if len(vs) != 4 {
		t.Fatalf("verdicts %d, want 4: %+v", len(vs), vs)
	}
	want := []bool{true, false, false, false}
	for i, v := range vs {
		if v.Pass != want[i] {
			t.Errorf("%s: pass %v, want %v (%s)", v.Result.Case, v.Pass, want[i], v.Why)
		}
	}
	if !strings.Contains(vs[2].Why, "boom") || !strings.Contains(vs[3].Why, "no target") {
		t.Errorf("why: %q / %q", vs[2].Why, vs[3].Why)
	}
	if Misses(vs) != 3 {
		t.Errorf("misses %d, want 3", Misses(vs))
	}
}

func TestJudgeSeveralGoalsAndWordBoundary(t *testing.T) {
	t.Parallel()
	react := Result{Section: Reaction, Control: "reaction", Case: "quelld psi-triggered (host.cpu.some.avg1)",
		Extra: map[string]float64{"p50_s": 0.3, "p99_s": 0.9, "trials": 5}}
	vs := Judge([]Result{react}, Targets, false)
	if len(vs) != 3 || Misses(vs) != 1 || vs[1].Pass {
		t.Fatalf("want p50 ok, p99 MISS, trials ok: %+v", vs)
	}
	// "quelld CPU @100" must not judge the @10000 row (a baseline).
	cpu := Result{Section: Overhead, Control: "quelld CPU", Case: "quelld CPU @10000", Achieved: 90}
	if vs := Judge([]Result{cpu}, Targets, false); len(vs) != 1 || !vs[0].Ref || !vs[0].Pass {
		t.Fatalf("@10000: %+v", vs)
	}
	cpu.Case = "quelld CPU @1000"
	if vs := Judge([]Result{cpu}, Targets, false); len(vs) != 1 || vs[0].Pass || vs[0].Target.Limit != 15 {
		t.Fatalf("@1000: %+v", vs)
	}
}

func TestJudgeFullRunReportsNotMeasured(t *testing.T) {
	t.Parallel()
	vs := Judge(nil, Targets, true)
	req := 0
	for _, tg := range Targets {
		if tg.Required {
			req++
		}
	}
	if len(vs) != req || Misses(vs) != req {
		t.Fatalf("full run with no results: %d verdicts, %d misses, want %d of each", len(vs), Misses(vs), req)
	}
	for _, v := range vs {
		if v.Why != "not measured" {
			t.Errorf("%s: %q", v.Result.Case, v.Why)
		}
	}
	if vs := Judge(nil, Targets, false); len(vs) != 0 {
		t.Errorf("partial run: %d verdicts, want 0", len(vs))
	}
}

func TestEveryTargetIsWellFormed(t *testing.T) {
	t.Parallel()
	for _, tg := range Targets {
		if tg.Why == "" || tg.Unit == "" || (tg.Cmp != "<=" && tg.Cmp != ">=" && tg.Cmp != "ref") {
			t.Errorf("target %+v: needs why, unit and a comparison", tg)
		}
	}
}

func TestGoBenchResults(t *testing.T) {
	t.Parallel()
	out := "pkg: github.com/quell-dev/quell/enforcer\n" +
		"BenchmarkTick/containers=100-2   48   4730174 ns/op   47.30 µs/container   1250415 B/op   8730 allocs/op\n" +
		"BenchmarkTick/containers=1000-2  4   5122084 ns/op    5.12 µs/container  12541232 B/op   8000 allocs/op\n"
	rs := GoBenchResults(out, "host")
	if len(rs) != 2 || rs[0].Achieved != 47.3 || rs[0].Extra["allocs"] != 87.3 || rs[1].Extra["allocs"] != 8 {
		t.Fatalf("%+v", rs)
	}
	vs := Judge(rs, Targets, false)
	if len(vs) != 4 || vs[0].Pass || vs[1].Pass || !vs[2].Pass || !vs[3].Pass {
		t.Fatalf("want @100 MISS ×2, @1000 ok ×2: %+v", vs)
	}
}

func TestReportMarksMisses(t *testing.T) {
	t.Parallel()
	rep := Report{Results: []Result{fid("cpu.max", "cpu.max 1.50 CPU", 1.5, 1.8), fid("cpu.max", "cpu.max 0.50 CPU", 0.5, 0.5)}}
	md := rep.markdown(nil)
	if !strings.Contains(md, "| **MISS** | cpu.max 1.50 CPU |") || !strings.Contains(md, "| ok | cpu.max 0.50 CPU |") || !strings.Contains(md, "2 checks, 1 missed") {
		t.Fatalf("report:\n%s", md)
	}
}

// Every Control the fidelity cases report has a target: a row without
// one is an error in the report.
func TestFidelityControlsHaveTargets(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"cpu.max", "cpu.weight", "cpuset.cpus", "memory.max", "memory.high", "memory.low", "memory.swap.max", "pids.max",
		"io.max", "net egress", "net ingress", "disk quota", "tenant split", "tenant split memory", "tenant split pids"} {
		r := fid(c, c+" case", 1, 1)
		r.Extra = map[string]float64{"off_cpuset_samples": 0, "held_over_tenant_mib": 0, "held_over_tenant_pids": 0}
		for _, v := range Judge([]Result{r}, Targets, false) {
			if v.Target == nil || !v.Pass {
				t.Errorf("%s: %s", c, v.Why)
			}
		}
	}
}
