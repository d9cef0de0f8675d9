package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v1/view", s.view)
	s.mux.HandleFunc("GET /v1/events", s.events)
	s.mux.HandleFunc("GET /v1/explain/{id...}", s.explain)
	s.mux.HandleFunc("GET /v1/plan", s.plan)
	s.mux.HandleFunc("GET /v1/version", s.version)
	s.mux.HandleFunc("POST /v1/reload", s.reload)
	s.mux.HandleFunc("POST /v1/release/{id...}", s.release)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
}

func (s *Server) view(w http.ResponseWriter, r *http.Request) {
	v := s.src.View()
	if v == nil {
		writeError(w, http.StatusServiceUnavailable, "quelld has not finished its first observation yet; try again in a few seconds")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since uint64
	limit := 100
	var wait time.Duration
	var err error
	if v := q.Get("since"); v != "" {
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since=%q: want a sequence number", v))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want a positive number", v))
			return
		}
	}
	if v := q.Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("wait=%q: want a duration such as 30s", v))
			return
		}
	}
	wait = min(wait, s.opts.MaxWait)
	evs, err := waitEvents(r.Context(), s.src, since, limit, wait, s.opts.PollInterval)
	if err != nil && r.Context().Err() != nil {
		return // the client left or quelld is stopping
	}
	writeJSON(w, http.StatusOK, evs)
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	x, err := s.src.Explain(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, x)
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	select {
	case s.planSem <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	p, err := s.src.Plan(r.Context())
	<-s.planSem // the answer is written without holding anything
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p == nil {
		p = []view.PlanEntry{}
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.opts.Version})
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if err := s.src.Reload(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "reloaded"})
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.src.Release(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "released", "id": id})
}

// fail answers err: 404 for view.ErrNotFound, 503 when the request was cancelled,
// 500 otherwise, always with the error's text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, view.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	default:
		s.opts.Logger.Warn("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, code, err.Error())
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
