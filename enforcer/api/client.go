package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// ErrUnreachable is returned (wrapped) by the Client when it cannot connect to
// the socket at all: quelld is not running, the socket does not exist, or the
// caller may not open it. Read-only callers may then fall back to reading
// cgroupfs directly.
var ErrUnreachable = errors.New("cannot reach quelld")

// Client talks to quelld over its Unix socket. It implements Service.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a Client for the socket at socketPath. It does not
// connect until the first call.
func NewClient(socketPath string) *Client {
	d := net.Dialer{Timeout: 3 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socketPath)
		},
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}
	return &Client{socket: socketPath, hc: &http.Client{Transport: tr}}
}

// Socket returns the socket path the client connects to.
func (c *Client) Socket() string { return c.socket }

// View returns quelld's current view.
func (c *Client) View(ctx context.Context) (*view.View, error) {
	var v view.View
	if err := c.do(ctx, http.MethodGet, "/v1/view", &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Events returns events with Seq > since, oldest first, at most limit (the
// server's default of 100 when limit <= 0). With wait > 0 the server holds the
// request until an event arrives or wait passes.
func (c *Client) Events(ctx context.Context, since uint64, limit int, wait time.Duration) ([]view.Event, error) {
	q := url.Values{}
	q.Set("since", strconv.FormatUint(since, 10))
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	evs := []view.Event{}
	if err := c.do(ctx, http.MethodGet, "/v1/events?"+q.Encode(), &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// Explain explains a container by ID (or unique ID prefix) or cgroup path; an
// error wrapping view.ErrNotFound when quelld knows no such container.
func (c *Client) Explain(ctx context.Context, idOrCgroup string) (*view.Explanation, error) {
	var x view.Explanation
	if err := c.do(ctx, http.MethodGet, "/v1/explain/"+url.PathEscape(idOrCgroup), &x); err != nil {
		return nil, err
	}
	return &x, nil
}

// Plan returns what the next reconcile would write.
func (c *Client) Plan(ctx context.Context) ([]view.PlanEntry, error) {
	p := []view.PlanEntry{}
	if err := c.do(ctx, http.MethodGet, "/v1/plan", &p); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload asks quelld to re-read its policy (root only).
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil)
}

// Release asks quelld to lift the penalty on container id (root only); an
// error wrapping view.ErrNotFound when there is none.
func (c *Client) Release(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/release/"+url.PathEscape(id), nil)
}

// Version returns quelld's version.
func (c *Client) Version(ctx context.Context) (string, error) {
	var v struct {
		Version string `json:"version"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/version", &v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// StatusError is an error answer from quelld.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return e.Msg }

// Is makes a 404 match view.ErrNotFound.
func (e *StatusError) Is(target error) bool {
	return target == view.ErrNotFound && e.Code == http.StatusNotFound
}

// do sends a request and decodes a 2xx JSON answer into out (when not nil).
// Connection failures wrap ErrUnreachable; error answers are *StatusError.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://quelld"+path, bytes.NewReader(nil))
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.socket, op.Err)
		}
		return fmt.Errorf("quelld at %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("quelld at %s: reading answer: %w", c.socket, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("quelld answered %s", resp.Status)
		}
		return &StatusError{Code: resp.StatusCode, Msg: eb.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("quelld at %s: bad answer to %s %s: %w", c.socket, method, path, err)
	}
	return nil
}
