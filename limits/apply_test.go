package limits

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const cg = "system.slice/docker-1.scope"

func containerTree(t *testing.T) (string, string) {
	root := fakeTree(t, map[string]string{
		cg + "/cpu.max":         "max 100000\n",
		cg + "/cpu.weight":      "100\n",
		cg + "/memory.max":      "max\n",
		cg + "/memory.high":     "max\n",
		cg + "/memory.swap.max": "max\n",
		cg + "/pids.max":        "max\n",
		cg + "/io.max":          "8:16 rbps=max wbps=1000 riops=max wiops=max\n",
		cg + "/io.weight":       "default 100\n8:0 50\n",
		cg + "/cpuset.cpus":     "\n",
	})
	return root, filepath.Join(root, cg)
}

func TestCurrent(t *testing.T) {
	t.Parallel()
	root, _ := containerTree(t)
	f := NewFS(root)
	got, err := f.Current(cg, []Write{
		{"cpu.max", "x"},
		{"io.max", "8:16 wbps=1"},
		{"io.max", "8:0 wbps=1"},
		{"io.weight", "default 5"},
		{"cpuset.cpus", "0"},
	})
	want := []Write{
		{"cpu.max", "max 100000"},
		{"io.max", "8:16 rbps=max wbps=1000 riops=max wiops=max"},
		{"io.max", "8:0 rbps=max wbps=max riops=max wiops=max"},
		{"io.weight", "default 100"},
		{"cpuset.cpus", ""},
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Current = %q, %v\nwant %q", got, err, want)
	}
	if _, err := f.Current(cg, []Write{{"memory.low", "0"}}); !errors.Is(err, ErrMissing) {
		t.Errorf("Current of a missing file: %v, want ErrMissing", err)
	}
	if _, err := f.Current(cg+"-gone", []Write{{"cpu.max", "0"}}); !errors.Is(err, ErrGone) {
		t.Errorf("Current of a missing cgroup: %v, want ErrGone", err)
	}
	if _, err := f.Current(cg, []Write{{"io.max", "garbage"}}); !errors.Is(err, ErrSyntax) {
		t.Errorf("Current of a bad io.max value: %v, want ErrSyntax", err)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	f := NewFS(t.TempDir(), WithPageSize(4096))
	cur := []Write{
		{"cpu.max", "max 100000"},
		{"memory.max", "4096"},
		{"io.max", "8:0 rbps=max wbps=5 riops=max wiops=max"},
		{"cpuset.cpus", "0-3"},
		{"pids.max", "100"},
	}
	desired := []Write{
		{"cpuset.cpus", "0,1,2,3"},
		{"cpu.max", "50000 100000"},
		{"io.max", "8:0 wbps=5"},
		{"io.max", "8:16 rbps=max wbps=max riops=max wiops=max"},
		{"io.max", "8:32 rbps=7"},
		{"memory.max", "4100"},
		{"memory.high", "max"},
		{"pids.max", "100"},
	}
	want := []Change{
		{"cpu.max", "max 100000", "50000 100000"},
		{"io.max", "8:32 rbps=max wbps=max riops=max wiops=max", "8:32 rbps=7"},
		{"memory.high", "", "max"},
	}
	if got := f.Diff(cur, desired); !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	if got := f.Diff(cur, cur); len(got) != 0 {
		t.Errorf("Diff of equal = %q", got)
	}
}

func TestApplyTwiceAndRestore(t *testing.T) {
	t.Parallel()
	root, dir := containerTree(t)
	f := NewFS(root)
	ctx := context.Background()
	ws := Resources{
		CPUQuota:  ptr(int64(50000)),
		CPUWeight: ptr(uint64(100)), // already so
		MemoryMax: ptr(int64(64 << 20)),
		PidsMax:   ptr(int64(64)),
		IOMax:     []IOMax{{Major: 8, Minor: 16, WBPS: 1000}}, // already so
	}.Writes()
	res, err := f.Apply(ctx, cg, ws)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	changed := map[string]bool{}
	for _, r := range res {
		changed[r.File] = r.Changed
		if r.Err != nil || r.Rounded {
			t.Errorf("%+v", r)
		}
	}
	wantChanged := map[string]bool{"cpu.max": true, "cpu.weight": false, "io.max": false, "memory.max": true, "pids.max": true}
	if !maps(changed, wantChanged) {
		t.Errorf("changed = %v, want %v", changed, wantChanged)
	}
	if got := readT(t, dir+"/memory.max"); got != "67108864" {
		t.Errorf("memory.max = %q", got)
	}
	orig := Originals(res)
	wantOrig := []Write{{"cpu.max", "max 100000"}, {"memory.max", "max"}, {"pids.max", "max"}}
	if !slices.Equal(orig, wantOrig) {
		t.Errorf("Originals = %q, want %q", orig, wantOrig)
	}

	res, err = f.Apply(ctx, cg, ws)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	for _, r := range res {
		if r.Changed {
			t.Errorf("second Apply changed %s: %+v", r.File, r)
		}
	}

	if err := f.Restore(ctx, cg, orig); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for _, w := range orig {
		if got := strings.TrimSpace(readT(t, filepath.Join(dir, w.File))); got != w.Value {
			t.Errorf("after Restore %s = %q, want %q", w.File, got, w.Value)
		}
	}
}

func TestApplyReportsRoundingRefusalsAndMismatch(t *testing.T) {
	t.Parallel()
	root, dir := containerTree(t)
	// cpu.weight as a directory: the write fails like a kernel refusal.
	if err := os.Remove(dir + "/cpu.weight"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir+"/cpu.weight", 0o755); err != nil {
		t.Fatal(err)
	}
	f := NewFS(root, WithPageSize(4096))
	// Imitate the kernel: memory rounded down to pages; pids.max capped.
	f.afterWrite = func(path, value string) {
		switch filepath.Base(path) {
		case "memory.max":
			os.WriteFile(path, []byte("4096\n"), 0o644)
		case "pids.max":
			os.WriteFile(path, []byte("7\n"), 0o644)
		}
	}
	ws := []Write{
		{"cpu.weight", "200"},
		{"memory.low", "0"}, // missing file
		{"memory.max", "5000"},
		{"pids.max", "8"},
		{"cpu.max", "1000 100000"},
	}
	res, err := f.Apply(context.Background(), cg, ws)
	if err == nil {
		t.Fatal("Apply with failures returned nil error")
	}
	if len(res) != len(ws) {
		t.Fatalf("got %d results, want %d", len(res), len(ws))
	}
	if r := res[0]; r.Err == nil || r.Changed {
		t.Errorf("refused write: %+v", r)
	}
	if r := res[1]; !errors.Is(r.Err, ErrMissing) {
		t.Errorf("missing file: %+v", r)
	}
	if r := res[2]; r.Err != nil || !r.Changed || !r.Rounded || r.Got != "4096" || r.Old != "max" {
		t.Errorf("rounded write: %+v", r)
	}
	if r := res[3]; !errors.Is(r.Err, ErrNotApplied) || !r.Changed || r.Got != "7" {
		t.Errorf("mismatching write: %+v", r)
	}
	if r := res[4]; r.Err != nil || !r.Changed {
		t.Errorf("write after failures: %+v", r)
	}
	if !errors.Is(err, ErrNotApplied) || !errors.Is(err, ErrMissing) {
		t.Errorf("joined error lacks causes: %v", err)
	}
	// The rounded value satisfies the request: nothing to do the second time.
	res, _ = f.Apply(context.Background(), cg, ws[2:3])
	if r := res[0]; r.Changed || !r.Rounded || r.Err != nil {
		t.Errorf("second apply of a rounded value: %+v", r)
	}
}

func TestApplyStopsWhenGoneOrCancelled(t *testing.T) {
	t.Parallel()
	root, dir := containerTree(t)
	f := NewFS(root)
	f.afterWrite = func(string, string) { os.RemoveAll(dir) }
	res, err := f.Apply(context.Background(), cg, []Write{{"cpu.max", "1000 100000"}, {"pids.max", "5"}})
	if !errors.Is(err, ErrGone) || len(res) != 1 {
		t.Errorf("Apply on vanishing cgroup: %d results, %v", len(res), err)
	}

	root, _ = containerTree(t)
	f = NewFS(root)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = f.Apply(ctx, cg, []Write{{"cpu.max", "1000 100000"}})
	if !errors.Is(err, context.Canceled) || len(res) != 0 {
		t.Errorf("Apply with cancelled ctx: %d results, %v", len(res), err)
	}
}

func maps(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestApplyChangesTakesTheDiffsOldAsTheOriginal(t *testing.T) {
	t.Parallel()
	root, dir := containerTree(t)
	f := NewFS(root)
	ctx := context.Background()
	ws := Resources{CPUQuota: ptr(int64(50000)), CPUWeight: ptr(uint64(100)), PidsMax: ptr(int64(64))}.Writes()
	cur, err := f.Current(cg, ws)
	if err != nil {
		t.Fatal(err)
	}
	diff := f.Diff(cur, ws)
	if len(diff) != 2 { // cpu.weight is already 100
		t.Fatalf("Diff = %+v, want cpu.max and pids.max", diff)
	}
	// Something sets pids.max between the diff and the write: the original
	// kept is what the diff read (the caller recorded it already), and the
	// wanted value is still written and read back.
	if err := os.WriteFile(dir+"/pids.max", []byte("500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	diff = append(diff, Change{File: "memory.max", New: "67108864"}) // no Old: read
	res, err := f.ApplyChanges(ctx, cg, diff)
	if err != nil {
		t.Fatalf("ApplyChanges: %v", err)
	}
	got := map[string]Result{}
	for _, r := range res {
		got[r.File] = r
	}
	if len(res) != 3 || got["cpu.weight"].File != "" {
		t.Fatalf("results = %+v, want the 3 changes only", res)
	}
	for file, old := range map[string]string{"cpu.max": "max 100000", "pids.max": "max", "memory.max": "max"} {
		if r := got[file]; r.Old != old || !r.Changed || r.Err != nil || r.Got != r.Wanted {
			t.Errorf("%s: %+v, want Old %q, changed, read back", file, r, old)
		}
	}
	if v := readT(t, dir+"/pids.max"); v != "64" {
		t.Errorf("pids.max = %q, want 64", v)
	}
	if _, err := f.ApplyChanges(ctx, "", diff); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ApplyChanges on the root: %v, want ErrUnsafe", err)
	}
	if _, err := f.ApplyChanges(ctx, cg, []Change{{File: "../cpu.max", Old: "max 100000", New: "1 100000"}}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ApplyChanges of a path: %v, want ErrUnsafe", err)
	}
}
