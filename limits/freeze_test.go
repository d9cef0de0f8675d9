package limits

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeFreezer imitates the kernel: when cgroup.freeze changes, cgroup.events
// follows after delay. It stops when ctx is done.
func fakeFreezer(ctx context.Context, dir string, delay time.Duration) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
			b, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
			v := strings.TrimSpace(string(b))
			if err != nil || (v != "0" && v != "1") { // caught mid-write
				continue
			}
			time.Sleep(delay)
			// Replace atomically: the kernel never shows a half-written file.
			tmp := filepath.Join(dir, ".events.tmp")
			os.WriteFile(tmp, []byte("populated 1\nfrozen "+v+"\n"), 0o644)
			os.Rename(tmp, filepath.Join(dir, "cgroup.events"))
		}
	}()
}

func TestFreezeThaw(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		cg + "/cgroup.freeze": "0\n",
		cg + "/cgroup.events": "populated 1\nfrozen 0\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fakeFreezer(ctx, filepath.Join(root, cg), 20*time.Millisecond)
	f := NewFS(root)
	if err := f.Freeze(ctx, cg); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if ev := readT(t, filepath.Join(root, cg, "cgroup.events")); !strings.Contains(ev, "frozen 1") {
		t.Errorf("Freeze returned before frozen: %q", ev)
	}
	if err := f.Thaw(ctx, cg); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	if ev := readT(t, filepath.Join(root, cg, "cgroup.events")); !strings.Contains(ev, "frozen 0") {
		t.Errorf("Thaw returned before thawed: %q", ev)
	}
}

func TestFreezeTimeout(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		cg + "/cgroup.freeze": "0\n",
		cg + "/cgroup.events": "populated 1\nfrozen 0\n",
	})
	f := NewFS(root)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.Freeze(ctx, cg)
	if !errors.Is(err, ErrFreezeTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Freeze never frozen: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Freeze took %v past a 50ms deadline", d)
	}
	if got := readT(t, filepath.Join(root, cg, "cgroup.freeze")); got != "1" {
		t.Errorf("cgroup.freeze = %q, want the request left in place", got)
	}
	if err := f.Freeze(context.Background(), cg+"-gone"); !errors.Is(err, ErrGone) {
		t.Errorf("Freeze of a missing cgroup: %v", err)
	}
}

func TestProcs(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		"a/cgroup.procs": "12\n345\n",
		"b/cgroup.procs": "",
		"c/cgroup.procs": "12\nx\n",
	})
	f := NewFS(root)
	if got, err := f.Procs("a"); err != nil || !slices.Equal(got, []int{12, 345}) {
		t.Errorf("Procs(a) = %v, %v", got, err)
	}
	if got, err := f.Procs("b"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Procs(b) = %#v, %v", got, err)
	}
	if _, err := f.Procs("c"); !errors.Is(err, ErrSyntax) {
		t.Errorf("Procs(c) = %v, want ErrSyntax", err)
	}
	if _, err := f.Procs("d"); !errors.Is(err, ErrGone) {
		t.Errorf("Procs(d) = %v, want ErrGone", err)
	}
}
