package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Options configure a Server. The zero value is what quelld uses.
type Options struct {
	// Authorizer decides access; nil means NewAuthorizer("quell", "/proc").
	Authorizer *Authorizer
	// PeerCreds identifies the process behind a connection; nil means the
	// kernel's SO_PEERCRED ([PeerCreds]). Tests inject other identities here.
	PeerCreds func(net.Conn) (Creds, error)
	// Version is reported by GET /v1/version.
	Version string
	// PollInterval is how often a long-poll asks the Source for new events
	// (200ms when zero).
	PollInterval time.Duration
	// MaxWait caps the wait= of a long-poll (60s when zero).
	MaxWait time.Duration
	// Logger gets refused and failed requests; nil discards.
	Logger *slog.Logger
	// MaxConns caps the open connections of callers other than root (64
	// when zero); root may have rootReserve more. MaxConnsPerUID caps one
	// uid's (16 when zero). Connections over a cap are closed at once.
	MaxConns, MaxConnsPerUID int
}

// Timeouts of the API's HTTP server: a caller cannot hold a connection (a
// file descriptor, a goroutine) by sending or reading slowly. A long-poll
// waits at most MaxWait, so writes may take that plus writeSlack.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	idleTimeout       = 30 * time.Second
	writeSlack        = 30 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Server serves a Source over HTTP. Create it with NewServer.
type Server struct {
	src  Source
	opts Options
	mux  *http.ServeMux
	// planSem lets one plan be computed at a time: Plan holds the loop's
	// lock while it reads every cgroup, so callers asking in a tight loop
	// must not queue up in front of the next tick.
	planSem chan struct{}
}

// NewServer returns a Server for src.
func NewServer(src Source, opts Options) *Server {
	if opts.Authorizer == nil {
		opts.Authorizer = NewAuthorizer("quell", "/proc")
	}
	if opts.PeerCreds == nil {
		opts.PeerCreds = PeerCreds
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 64
	}
	if opts.MaxConnsPerUID <= 0 {
		opts.MaxConnsPerUID = 16
	}
	s := &Server{src: src, opts: opts, mux: http.NewServeMux(), planSem: make(chan struct{}, 1)}
	s.routes()
	return s
}

// Serve answers requests on l until ctx ends, then stops accepting, lets
// requests in flight finish (long-polls end at once: their context is ctx's
// child) for up to 5 seconds, and returns nil. It returns an error when
// serving fails for another reason. It closes l. Connections are limited
// per uid and in total (Options.MaxConns) and time out when slow (see the
// timeout constants).
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	l = newLimitListener(l, s.opts.PeerCreds, s.opts.MaxConns, s.opts.MaxConnsPerUID, s.opts.Logger)
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      s.opts.MaxWait + writeSlack,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return withCreds(ctx, connCreds(c, s.opts.PeerCreds))
		},
		ErrorLog: slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}

// ServeHTTP authorises the request by the creds stashed for its connection,
// then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	creds, err := credsFrom(r.Context())
	if err != nil {
		s.opts.Logger.Warn("api: refusing request without peer credentials", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusForbidden, "permission denied: cannot identify the caller: "+err.Error())
		return
	}
	acc := Read
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		acc = Write
	}
	if err := s.opts.Authorizer.Check(creds, acc); err != nil {
		s.opts.Logger.Info("api: refused", "uid", creds.UID, "pid", creds.PID, "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	s.mux.ServeHTTP(w, r)
}
