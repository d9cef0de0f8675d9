//go:build lab

package kernel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/benchmarks"
	"github.com/quell-dev/quell/test/labkit"
)

// TestBenchSmoke runs the benchmark harness's smoke (one short case per
// section) on the real kernel and checks that every case produced a figure
// and the report renders: a broken harness shows up in make test, not
// only in make bench.
func TestBenchSmoke(t *testing.T) {
	labkit.Require(t)
	env := benchmarks.DetectEnv(labkit.Root(), "/proc")
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rs, err := benchmarks.Suite{Env: env, Progress: &progress, Smoke: true}.Run(ctx, benchmarks.Cases())
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, r := range rs {
		if r.Err != "" {
			t.Errorf("%s / %s failed: %s", r.Section, r.Case, r.Err)
			continue
		}
		sections[r.Section] = true
		t.Logf("FIGURE bench-smoke %s / %s: set %g achieved %g %s", r.Section, r.Case, r.Set, r.Achieved, r.Unit)
	}
	for _, s := range []string{benchmarks.Fidelity, benchmarks.Protection, benchmarks.Reaction, benchmarks.Overhead} {
		if !sections[s] {
			t.Errorf("no figure from section %s", s)
		}
	}
	dir := t.TempDir()
	if err := (benchmarks.Report{Date: time.Now(), On: []string{env.Label}, Smoke: true, Results: rs}).Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "report.json", "fidelity.svg", "protection.svg", "reaction.svg", "overhead.svg"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("report file %s missing or empty: %v", f, err)
		}
	}
}
