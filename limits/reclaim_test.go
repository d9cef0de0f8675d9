package limits

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kernelReclaim imitates memory_high_write: the value lands at once, then
// the write(2) stays in the kernel "reclaiming" until its thread is
// signalled.
type kernelReclaim struct {
	mu          sync.Mutex
	inKernel    map[int]chan struct{} // tid → closed by a signal
	interrupted []int
	writes      int
}

func fakeReclaimFS(t *testing.T, root string) (*FS, *kernelReclaim) {
	t.Helper()
	k := &kernelReclaim{inKernel: map[int]chan struct{}{}}
	f := NewFS(root, WithReclaimWait(20*time.Millisecond))
	f.rc.write = func(dir, file, value string) error {
		k.mu.Lock()
		k.writes++
		k.mu.Unlock()
		if err := writeFile(dir, file, value); err != nil {
			return err
		}
		v, _ := parseMaxBytes(file, []byte(value))
		cur, _ := parseMaxBytes("memory.current", []byte(readT(t, dir+"/memory.current")))
		if v == Max || v >= cur {
			return nil // under the limit already: no reclaim
		}
		sig := make(chan struct{})
		k.mu.Lock()
		k.inKernel[syscall.Gettid()] = sig
		k.mu.Unlock()
		select {
		case <-sig:
		case <-time.After(10 * time.Second):
			return errors.New("never interrupted")
		}
		return nil
	}
	f.rc.interrupt = func(tid int) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if sig, ok := k.inKernel[tid]; ok {
			close(sig)
			delete(k.inKernel, tid)
			k.interrupted = append(k.interrupted, tid)
		}
	}
	return f, k
}

func TestLoweringMemoryHighDoesNotWaitForTheKernelsReclaim(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		"big/memory.high": "max\n", "big/memory.max": "max\n", "big/memory.current": "1288490188\n",
	})
	f, k := fakeReclaimFS(t, root)
	start := time.Now()
	res, err := f.Apply(context.Background(), "big", []Write{{"memory.high", "644245094"}})
	if err != nil || len(res) != 1 || !res[0].Changed || !res[0].Reclaiming || res[0].Got != "644245094" {
		t.Fatalf("Apply = %+v, %v; want the value in force and Reclaiming", res, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Apply waited %v for the reclaim", d)
	}
	if got := f.Reclaiming(); len(got) != 1 || got[0] != root+"/big/memory.high" {
		t.Fatalf("Reclaiming() = %v", got)
	}

	// Lifting it stops the reclaim still running in the kernel first.
	res, err = f.Apply(context.Background(), "big", []Write{{"memory.high", "max"}})
	if err != nil || !res[0].Changed || res[0].Reclaiming || res[0].Got != "max" {
		t.Fatalf("lift: Apply = %+v, %v", res, err)
	}
	for deadline := time.Now().Add(2 * time.Second); len(f.Reclaiming()) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still reclaiming after the lift: %v", f.Reclaiming())
		}
	}
	k.mu.Lock()
	interrupted := len(k.interrupted)
	k.mu.Unlock()
	if interrupted != 1 {
		t.Fatalf("the earlier reclaim was interrupted %d times, want 1", interrupted)
	}
}

func TestMemoryWritesAboveUsageAndBadValuesReturnAtOnce(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		"c/memory.high": "max\n", "c/memory.max": "max\n", "c/memory.current": "1048576\n",
	})
	f, k := fakeReclaimFS(t, root)
	res, err := f.Apply(context.Background(), "c", []Write{{"memory.high", "268435456"}})
	if err != nil || res[0].Reclaiming || !res[0].Changed || k.writes != 1 {
		t.Fatalf("above usage: Apply = %+v, %v (writes %d); want a plain write", res, err, k.writes)
	}
	// memory.max is always written in the caller, even below usage: its
	// write ends in an OOM kill that the next pass must see done.
	res, err = f.Apply(context.Background(), "c", []Write{{"memory.max", "4096"}})
	if err != nil || res[0].Reclaiming || !res[0].Changed || k.writes != 1 {
		t.Fatalf("memory.max below usage: Apply = %+v, %v (writes via the reclaim path %d); want a plain write", res, err, k.writes)
	}
	if !mayReclaim(root+"/c", "4096") || mayReclaim(root+"/c", "max") || mayReclaim(root+"/c", "2097152") {
		t.Fatal("mayReclaim: below usage may reclaim; max and above usage do not")
	}
	if !mayReclaim(root+"/nowhere", "4096") {
		t.Fatal("mayReclaim with memory.current unreadable must assume it may")
	}
	// A write the kernel refuses comes back as an error even when it went
	// to its own thread: it fails before any reclaim.
	f.rc.write = func(dir, file, value string) error { return syscall.EINVAL }
	if res, err := f.Apply(context.Background(), "c", []Write{{"memory.high", "4096"}}); !errors.Is(err, syscall.EINVAL) || res[0].Reclaiming {
		t.Fatalf("refused write: Apply = %+v, %v; want EINVAL", res, err)
	}
}

func TestBackgroundReclaimsAreBounded(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	for i := range maxReclaims + 1 {
		files[fmt.Sprintf("c%d/memory.high", i)] = "max\n"
		files[fmt.Sprintf("c%d/memory.current", i)] = "1048576\n"
	}
	root := fakeTree(t, files)
	f, k := fakeReclaimFS(t, root)
	for i := range maxReclaims {
		res, err := f.Apply(context.Background(), fmt.Sprintf("c%d", i), []Write{{"memory.high", "4096"}})
		if err != nil || !res[0].Reclaiming {
			t.Fatalf("write %d: %+v, %v; want it reclaiming in the background", i, res, err)
		}
	}
	// The next one has no slot: it is made here, waiting for its reclaim
	// (which the test ends from outside).
	done := make(chan []Result)
	go func() {
		res, _ := f.Apply(context.Background(), fmt.Sprintf("c%d", maxReclaims), []Write{{"memory.high", "4096"}})
		done <- res
	}()
	select {
	case res := <-done:
		t.Fatalf("write %d returned %+v with every slot taken; want it to wait for its reclaim", maxReclaims, res)
	case <-time.After(100 * time.Millisecond):
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		k.mu.Lock()
		n := len(k.inKernel)
		k.mu.Unlock()
		if n == maxReclaims+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes in the kernel, want %d", n, maxReclaims+1)
		}
	}
	k.mu.Lock()
	for tid, sig := range k.inKernel {
		close(sig)
		delete(k.inKernel, tid)
	}
	k.mu.Unlock()
	if res := <-done; res[0].Reclaiming || !res[0].Changed {
		t.Fatalf("the write without a slot: %+v", res)
	}
}
