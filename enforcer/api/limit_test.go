package api

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A member of group quell opening connection after connection gets at most
// MaxConnsPerUID of them held; the rest are closed at once, and root still
// gets an answer.
func TestConnectionsAreLimitedPerUIDAndRootStillAnswers(t *testing.T) {
	t.Parallel()
	var uid atomic.Uint32
	uid.Store(1000)
	c := startServer(t, fixtureSource(), Options{MaxConns: 20, MaxConnsPerUID: 8,
		PeerCreds: func(net.Conn) (Creds, error) { return Creds{PID: 1, UID: uid.Load(), GID: 990}, nil }})
	var held []net.Conn
	defer func() {
		for _, h := range held {
			h.Close()
		}
	}()
	for i := 0; i < 50; i++ {
		h, err := net.Dial("unix", c.socket)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, h)
	}
	open := 0
	for _, h := range held {
		h.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := h.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			open++ // the server kept it: it waits for a request
		}
	}
	if open != 8 {
		t.Errorf("%d of 50 connections of one uid kept open, want 8", open)
	}
	uid.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Version(ctx); err != nil {
		t.Errorf("root refused while a uid holds its connections: %v", err)
	}
}

func TestAdmitCaps(t *testing.T) {
	t.Parallel()
	l := newLimitListener(nil, nil, 3, 2, slog.New(slog.DiscardHandler))
	if !l.admit(1) || !l.admit(1) || l.admit(1) {
		t.Fatal("per-uid cap 2 not applied")
	}
	if !l.admit(2) || l.admit(3) {
		t.Fatal("total cap 3 not applied")
	}
	l.release(1)
	if !l.admit(3) {
		t.Fatal("a released slot was not given back")
	}
	for i := 0; i < rootReserve; i++ {
		if !l.admit(0) {
			t.Fatalf("root refused at %d over the cap", i)
		}
	}
	if l.admit(0) {
		t.Fatal("root admitted beyond its reserve")
	}
}
