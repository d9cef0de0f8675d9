package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeScrapeAndStop(t *testing.T) {
	t.Parallel()
	reg, err := NewRegistry(fixedView, NewLoop(), 0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (Server{}).ServeListener(ctx, l, reg) }()

	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `quell_tenant_cpu_usage_seconds_total{tenant="acme"} 3600.5`) {
		t.Errorf("scrape: %s\n%.500s", resp.Status, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeListener = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeListener did not stop")
	}
}

func TestServeBadAddr(t *testing.T) {
	t.Parallel()
	if err := (Server{Addr: "127.0.0.1:notaport"}).Serve(context.Background(), nil); err == nil {
		t.Error("Serve on a bad address returned nil")
	}
}
