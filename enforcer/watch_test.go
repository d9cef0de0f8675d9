package enforcer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPolicyEvent(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"/etc/quell/policy.d/10-tenants.toml":                  true,
		"/etc/quell/policy.d/..data":                           true, // kubelet's swap
		"/etc/quell/policy.d/..data_tmp":                       false,
		"/etc/quell/policy.d/..2026_12_05_08_40_00.123456789":  false,
		"/etc/quell/policy.d/10-tenants.toml.swp":              false,
		"/etc/quell/policy.d/notes.txt":                        false,
		"/etc/quell/policy.d/..2026_12_05_08_40_00.1/a.toml":   true,
		"/etc/quell/policy.d/..data/10-tenants.toml-something": false,
	} {
		if got := policyEvent(name); got != want {
			t.Errorf("policyEvent(%q) = %v, want %v", name, got, want)
		}
	}
}

// kubeletSwap publishes files in dir the way kubelet's atomic writer
// updates a ConfigMap volume: a new timestamped dir, ..data_tmp pointing at
// it renamed over ..data, a key symlink for each new key, the old
// timestamped dir removed. It returns the new timestamped dir's name.
func kubeletSwap(t *testing.T, dir, old, ts string, files map[string]string) string {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, ts), 0o755))
	for name, data := range files {
		must(t, os.WriteFile(filepath.Join(dir, ts, name), []byte(data), 0o644))
	}
	must(t, os.Symlink(ts, filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	for name := range files {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			must(t, os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)))
		}
	}
	if old != "" {
		must(t, os.RemoveAll(filepath.Join(dir, old)))
	}
	return ts
}

// TestWatchPolicyReloadsOnConfigMapSwap: a policy dir that is a ConfigMap
// volume changes only by the ..data swap; no event names a .toml file.
// Before policyEvent knew ..data, quelld kept the old policy for good.
func TestWatchPolicyReloadsOnConfigMapSwap(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	cur := kubeletSwap(t, h.pol, "", "..2026_12_05_08_40_00.000000001", map[string]string{"10-tenants.toml": acmePolicy})
	e := h.enforcer(newClock())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must(t, e.Reload(ctx))
	if !loaded(e, "1 tenant,") {
		t.Fatalf("first load: %+v", e.Events(0, 0))
	}
	done := make(chan error, 1)
	go func() { done <- e.WatchPolicy(ctx, 10*time.Millisecond) }()
	time.Sleep(100 * time.Millisecond) // the watch is set up

	two := acmePolicy + "\n[[tenant]]\nname = \"beta\"\n  [tenant.match]\n  names = [\"beta-*\"]\n"
	kubeletSwap(t, h.pol, cur, "..2026_12_05_08_41_00.000000002", map[string]string{"10-tenants.toml": two})
	deadline := time.Now().Add(5 * time.Second)
	for !loaded(e, "2 tenants") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after the ..data swap; events: %+v", e.Events(0, 0))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// loaded reports whether e recorded a policy load whose summary has want.
func loaded(e *Enforcer, want string) bool {
	for _, ev := range e.Events(0, 0) {
		if ev.Kind == "policy" && strings.HasPrefix(ev.Reason, "policy loaded: ") && strings.Contains(ev.Reason, want) {
			return true
		}
	}
	return false
}

// A container made after the loop's first walk but before the watcher had
// its watches raised no inotify event: the watcher asks for a rescan once
// they are in place, so the next pass finds it.
func TestWatchCgroupsRescansOnceItsWatchesAreSet(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t)
	h.file("policy.d/10.toml", acmePolicy)
	e := h.enforcerFS(newClock())
	e.Tick(context.Background()) // finds nothing
	h.container(idA, "acme-1", 0)
	if e.rescan.Load() {
		t.Fatal("a rescan was already asked for")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.WatchCgroups(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !e.rescan.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.Tick(context.Background())
	if got := e.View().Loop.Watched; got != 1 {
		t.Fatalf("after the watcher started, the pass watches %d cgroups, want the container made before it", got)
	}
}
