package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// DefaultAddr is where quelld serves metrics unless told otherwise: loopback
// only, since per-container usage says what tenants run.
const DefaultAddr = "127.0.0.1:9477"

// Server says where and how to serve the metrics.
type Server struct {
	// Addr is the TCP listen address (host:port).
	Addr string
	// WebConfig is the path of an exporter-toolkit web config file (the
	// --web.config.file of node_exporter: tls_server_config,
	// basic_auth_users, http_server_config); "" serves plain HTTP without
	// authentication. The file is read again on each request and TLS
	// handshake, so certificates and users can be rotated without a restart.
	WebConfig string
	// Logger receives the toolkit's messages (TLS on/off, failed logins).
	Logger *slog.Logger
}

// CheckWebConfig reads the web config file at path, its users' bcrypt
// hashes and its certificates, and returns what is wrong with them; nil
// when path is "" (no web config) or everything is usable.
func CheckWebConfig(path string) error {
	if path == "" {
		return nil
	}
	if err := web.Validate(path); err != nil {
		return fmt.Errorf("metrics web config %s: %w", path, err)
	}
	return nil
}

// Serve serves reg at /metrics on s.Addr until ctx ends, then shuts down
// and returns nil; it returns an error when the address cannot be listened
// on, the web config is unusable or serving fails.
func (s Server) Serve(ctx context.Context, reg *prometheus.Registry) error {
	if err := CheckWebConfig(s.WebConfig); err != nil {
		return err
	}
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("metrics: listen %s: %w", s.Addr, err)
	}
	return s.ServeListener(ctx, l, reg)
}

// ServeListener is Serve on a listener the caller opened (tests use port 0);
// s.Addr is not used. It closes l. A collector's error drops the series
// concerned, never the whole scrape (promhttp.ContinueOnError).
func (s Server) ServeListener(ctx context.Context, l net.Listener, reg *prometheus.Registry) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "quelld metrics: /metrics")
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := s.WebConfig
	if err := web.Serve(l, hs, &web.FlagConfig{WebConfigFile: &cfg}, logger); !errors.Is(err, http.ErrServerClosed) {
		_ = l.Close() // the shutdown goroutine ends with ctx
		return fmt.Errorf("metrics: %w", err)
	}
	<-done
	return nil
}
