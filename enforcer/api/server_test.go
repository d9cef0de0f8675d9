package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"

	"github.com/quell-dev/quell/internal/testenv"
)

func fixtureSource() *FakeSource {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	id := "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
	return &FakeSource{
		ViewValue: &view.View{
			Time:   now,
			Source: "quelld",
			Tenants: []view.TenantView{{Name: "acme", Class: "burstable", Containers: 1,
				Usage: view.Usage{CPUs: 1.5}, Limits: view.TenantLimits{CPUs: 2.5}}},
			Containers: []view.ContainerView{{Container: view.Container{ID: id,
				Cgroup: "system.slice/docker-" + id + ".scope", Tenant: "acme"}}},
			Penalties: []view.PenaltyView{{ID: id, Action: "throttle", Rule: "cpu-contention"}},
		},
		EventList: []view.Event{
			{Seq: 1, Time: now, Kind: "limit", Tenant: "acme", Reason: "policy"},
			{Seq: 2, Time: now, Kind: "throttle", Tenant: "acme", Reason: "host cpu pressure"},
			{Seq: 3, Time: now, Kind: "thaw", Tenant: "acme", Reason: "deadline"},
		},
		Explanations: map[string]*view.Explanation{
			"system.slice/docker-" + id + ".scope": {Match: "cgroup glob"},
		},
		PlanEntries: []view.PlanEntry{{Cgroup: "quell.slice/quell-acme.slice", Tenant: "acme",
			Changes: []view.Change{{File: "cpu.max", Old: "max 100000", New: "250000 100000"}}}},
	}
}

// startServer serves src on a socket in a temp dir with opts and returns a
// client for it. The server stops when the test ends.
func startServer(t *testing.T, src Source, opts Options) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.sock")
	l, err := Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(src, opts).Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return NewClient(path)
}

func TestServerRootCanReadAndWrite(t *testing.T) {
	t.Parallel()
	src := fixtureSource()
	c := startServer(t, src, Options{Version: "1.2.3"}) // real SO_PEERCRED: the test runs as itself
	if os.Geteuid() != 0 {
		testenv.SkipUnlessCI(t, "needs root for real SO_PEERCRED; the unprivileged cases are covered with injected credentials below")
	}
	ctx := context.Background()

	v, err := c.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Tenants[0].Name != "acme" || v.Tenants[0].Limits.CPUs != 2.5 {
		t.Errorf("view = %+v", v.Tenants)
	}
	evs, err := c.Events(ctx, 1, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != 2 {
		t.Errorf("events since 1 limit 1 = %+v, want seq 2", evs)
	}
	x, err := c.Explain(ctx, src.ViewValue.Containers[0].Cgroup)
	if err != nil {
		t.Fatal(err)
	}
	if x.Match != "cgroup glob" {
		t.Errorf("explain by cgroup = %+v", x)
	}
	if _, err := c.Explain(ctx, "nope"); !errors.Is(err, view.ErrNotFound) {
		t.Errorf("explain unknown: err = %v, want view.ErrNotFound", err)
	}
	p, err := c.Plan(ctx)
	if err != nil || len(p) != 1 || p[0].Changes[0].New != "250000 100000" {
		t.Errorf("plan = %+v, %v", p, err)
	}
	if err := c.Reload(ctx); err != nil {
		t.Errorf("reload: %v", err)
	}
	src.Lock()
	src.ReloadErr = errors.New("policy.d/10-acme.toml:3:1: bad")
	src.Unlock()
	if err := c.Reload(ctx); err == nil || !strings.Contains(err.Error(), "10-acme.toml:3:1") {
		t.Errorf("failed reload: err = %v, want the policy error", err)
	}
	if err := c.Release(ctx, "3f2a1b4c5d6e"); err != nil {
		t.Errorf("release: %v", err)
	}
	if err := c.Release(ctx, "ffff"); !errors.Is(err, view.ErrNotFound) {
		t.Errorf("release unknown: err = %v, want view.ErrNotFound", err)
	}
	if ver, err := c.Version(ctx); err != nil || ver != "1.2.3" {
		t.Errorf("version = %q, %v", ver, err)
	}
	if src.Reloads != 2 || len(src.Released) != 1 {
		t.Errorf("reloads %d released %v", src.Reloads, src.Released)
	}
}

func TestServerRefusesByPeerCredentials(t *testing.T) {
	t.Parallel()
	member := Creds{PID: 4242, UID: 1000, GID: 1000} // in quell by supplementary group
	outsider := Creds{PID: 7, UID: 1001, GID: 1001}  // not in quell
	var mu sync.Mutex
	who := member
	c := startServer(t, fixtureSource(), Options{
		Authorizer: fakeAuth(true),
		PeerCreds: func(net.Conn) (Creds, error) {
			mu.Lock()
			defer mu.Unlock()
			return who, nil
		},
	})
	// Each identity gets fresh connections: a transport reuses them.
	setWho := func(c2 Creds) {
		mu.Lock()
		who = c2
		mu.Unlock()
		c.hc.CloseIdleConnections()
	}
	ctx := context.Background()

	if _, err := c.View(ctx); err != nil {
		t.Errorf("member view: %v", err)
	}
	err := c.Reload(ctx)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusForbidden || !strings.Contains(se.Msg, "use sudo") {
		t.Errorf("member reload: err = %v, want 403 saying use sudo", err)
	}

	setWho(outsider)
	_, err = c.View(ctx)
	if !errors.As(err, &se) || se.Code != http.StatusForbidden || !strings.Contains(se.Msg, "join it") {
		t.Errorf("outsider view: err = %v, want 403 saying join group quell", err)
	}
	if _, err := c.Events(ctx, 0, 10, 0); err == nil {
		t.Error("outsider read events")
	}
}

func TestServerRefusesUnidentifiedPeer(t *testing.T) {
	t.Parallel()
	c := startServer(t, fixtureSource(), Options{
		PeerCreds: func(net.Conn) (Creds, error) { return Creds{}, errors.New("SO_PEERCRED: bad file descriptor") },
	})
	_, err := c.View(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusForbidden {
		t.Errorf("err = %v, want 403", err)
	}
}

func TestServerLongPollWakesOnNewEvent(t *testing.T) {
	t.Parallel()
	src := fixtureSource()
	c := startServer(t, src, Options{Authorizer: fakeAuth(true), PollInterval: 10 * time.Millisecond,
		PeerCreds: func(net.Conn) (Creds, error) { return Creds{UID: 0}, nil }})
	go func() {
		time.Sleep(50 * time.Millisecond)
		src.Append(view.Event{Kind: "freeze", Reason: "memory pressure"})
	}()
	start := time.Now()
	evs, err := c.Events(context.Background(), 3, 10, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != 4 || evs[0].Kind != "freeze" {
		t.Errorf("events = %+v, want the new freeze", evs)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("long-poll took %v", d)
	}

	// Nothing new: the wait ends empty, not with an error.
	evs, err = c.Events(context.Background(), 4, 10, 30*time.Millisecond)
	if err != nil || len(evs) != 0 {
		t.Errorf("empty wait = %+v, %v", evs, err)
	}
}

func TestServeStopsWithLongPollInFlight(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "q.sock")
	l, err := Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewServer(fixtureSource(), Options{PeerCreds: func(net.Conn) (Creds, error) { return Creds{}, nil }}).Serve(ctx, l)
	}()
	c := NewClient(path)
	polled := make(chan error, 1)
	go func() {
		_, err := c.Events(context.Background(), 99, 10, time.Minute)
		polled <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("Serve did not return with a long-poll in flight")
	}
	<-polled
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestViewBeforeFirstObservationIs503(t *testing.T) {
	t.Parallel()
	c := startServer(t, &FakeSource{}, Options{PeerCreds: func(net.Conn) (Creds, error) { return Creds{}, nil }})
	_, err := c.View(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable {
		t.Errorf("err = %v, want 503", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	t.Parallel()
	c := NewClient(filepath.Join(t.TempDir(), "absent.sock"))
	_, err := c.View(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "absent.sock") {
		t.Errorf("error %q does not name the socket", err)
	}
}

func TestLongPollUsesEventWaiter(t *testing.T) {
	t.Parallel()
	src := NewWaitingSource(fixtureSource())
	// A poll interval far longer than the test: only a wake-up can answer in time.
	c := startServer(t, src, Options{PollInterval: time.Hour,
		PeerCreds: func(net.Conn) (Creds, error) { return Creds{UID: 0}, nil }})
	go func() {
		time.Sleep(50 * time.Millisecond)
		src.Append(view.Event{Kind: "evict", Reason: "miner"})
	}()
	start := time.Now()
	evs, err := c.Events(context.Background(), 3, 10, 20*time.Second)
	if err != nil || len(evs) != 1 || evs[0].Kind != "evict" {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	evs, err = c.Events(context.Background(), 4, 10, 30*time.Millisecond)
	if err != nil || len(evs) != 0 {
		t.Errorf("empty wait = %+v, %v", evs, err)
	}
}
