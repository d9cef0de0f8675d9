//go:build lab

package main

import (
	"testing"
	"time"
)

func TestHangAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env     string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"5s", 5 * time.Second, false},
		{"0s", 0, true},
		{"-1s", 0, true},
		{"soon", 0, true},
	} {
		got, err := hangAfter(func(string) string { return tc.env })
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("hangAfter(%q) = %v, %v; want %v, error %v", tc.env, got, err, tc.want, tc.wantErr)
		}
	}
}

// Before the deadline the hook passes through and returns; after it, it
// never returns (the loop is wedged).
func TestHangHook(t *testing.T) {
	t.Parallel()
	calls := 0
	h := hangHook(time.Now(), time.Hour, func(time.Duration) { calls++ })
	h(time.Millisecond)
	if calls != 1 {
		t.Fatalf("next called %d times, want 1", calls)
	}
	done := make(chan struct{})
	go func() {
		hangHook(time.Now().Add(-time.Second), time.Millisecond, nil)(0)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("hook returned after its deadline; want it to hang")
	case <-time.After(100 * time.Millisecond):
	}
}
