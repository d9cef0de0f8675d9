//go:build lab

package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quell-dev/quell/limits/projquota"
)

// TestQuotaWalkRefusesSwappedSymlinks is the hostile act of issue 12 #4: a
// container swaps a directory of its writable layer for a symlink to a host
// directory, over and over, while quell tags the layer with its project
// (SetProjectID) and untags it on release (SetProjectID 0). The host
// directory, already in project hostID, must come out of every walk still in
// hostID: never tagged with the container's project, never reset to 0.
// Device nodes and FIFOs in the layer are skipped, not opened.
func TestQuotaWalkRefusesSwappedSymlinks(t *testing.T) {
	mnt := quotaMount(t, "QUELL_LAB_XFS")
	const id, hostID = 100077, 4242
	base := filepath.Join(mnt, fmt.Sprintf("walk-%d", time.Now().UnixNano()))
	upper, host := filepath.Join(base, "upper"), filepath.Join(base, "host")
	for _, d := range []string{filepath.Join(upper, "a", "deep"), filepath.Join(upper, "b"), filepath.Join(host, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	for _, f := range []string{"upper/a/f", "upper/a/deep/g", "upper/b/h", "host/secret", "host/sub/key"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(upper, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(upper, "null"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if err := projquota.SetProjectID(host, hostID); err != nil {
		t.Fatal(err)
	}
	// The swap: upper/a and upper/evil (a symlink to the host directory)
	// trade places atomically, thousands of times a second.
	if err := os.Symlink(host, filepath.Join(upper, "evil")); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var swaps atomic.Int64
	var wg sync.WaitGroup
	for _, pair := range [][2]string{{"a", "evil"}, {"b", "evil"}} {
		wg.Add(1)
		go func(x, y string) {
			defer wg.Done()
			for !stop.Load() {
				if unix.Renameat2(unix.AT_FDCWD, filepath.Join(upper, x), unix.AT_FDCWD, filepath.Join(upper, y), unix.RENAME_EXCHANGE) == nil {
					swaps.Add(1)
				}
			}
		}(pair[0], pair[1])
	}
	walks, errs := 0, 0
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		want := uint32(id)
		if walks%2 == 1 {
			want = 0 // release: the untag walk
		}
		if err := projquota.SetProjectID(upper, want); err != nil {
			errs++
			if errs <= 3 {
				t.Logf("walk %d: %v", walks, err)
			}
		}
		walks++
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("FIGURE quota walk: %d walks, %d swaps, %d walk errors", walks, swaps.Load(), errs)
	if swaps.Load() < 1000 || walks < 20 {
		t.Fatalf("the race did not run: %d swaps, %d walks", swaps.Load(), walks)
	}
	for _, f := range []string{"host", "host/secret", "host/sub", "host/sub/key"} {
		got, err := projquota.ProjectID(filepath.Join(base, f))
		if err != nil {
			t.Fatal(err)
		}
		if got != hostID {
			t.Errorf("%s: project %d after the walks, want %d (the walk followed a swapped-in symlink)", f, got, hostID)
		}
	}
	if errs > 0 {
		t.Errorf("%d of %d walks failed; a swapped entry must be skipped, not stop the walk", errs, walks)
	}
	// With the swapping over, a final walk tags all of the layer.
	if err := projquota.SetProjectID(upper, id); err != nil {
		t.Fatal(err)
	}
	tagged := 0
	err := filepath.WalkDir(upper, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() && !d.Type().IsRegular() {
			return err
		}
		tagged++
		if got, err := projquota.ProjectID(p); err != nil || got != id {
			t.Errorf("%s: project %d, %v after the final walk; want %d", p, got, err, id)
		}
		return nil
	})
	if err != nil || tagged != 7 {
		t.Errorf("final check saw %d directories and files (want 7), %v", tagged, err)
	}
}
