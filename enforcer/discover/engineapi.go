package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// EngineAPI asks a container engine's Docker-compatible Engine API (dockerd
// on /run/docker.sock, podman's service on /run/podman/podman.sock) about
// its containers, as cAdvisor does. It is hand-written rather than
// github.com/docker/docker/client: quell needs two read-only GETs, and that
// client pulls in most of the Docker engine's module tree.
//
// Every answer is capped. A container is asked about in the background:
// Container waits Timeout for the answer and, if it is not there yet,
// returns errPending and leaves the request open for up to Patience; the
// next call for that ID (the loop's next pass) takes the answer. So quelld's
// loop never waits more than Timeout for an engine, and a socket-activated
// service that starts slowly (podman's API under load took longer than
// 500 ms to come up, and exits again 5 s after its last request, so short
// requests never met a warm service) still answers. A socket that failed
// is left alone for a while, 1 s after the first failure, doubling up to
// Backoff. An EngineAPI is safe for concurrent use.
type EngineAPI struct {
	Socket   string
	Timeout  time.Duration // how long a caller waits; 0: 500ms
	Patience time.Duration // how long a request may stay open; 0: 20s
	Backoff  time.Duration // longest rest after failures; 0: 30s
	Now      func() time.Time

	mu      sync.Mutex
	quiet   time.Time // no request before this
	fails   int       // failures in a row
	root    string    // DockerRootDir, once known
	rootErr error
	client  *http.Client
	asked   map[string]*asking // requests for containers, by ID
}

// asking is one request for a container, answered in the background.
type asking struct {
	done   chan struct{}
	c      engineContainer
	err    error
	waited bool      // a caller already waited Timeout for it
	at     time.Time // when the answer came (a.now()), set before done closes
}

// keepAnswer is how long an answer nobody took is kept.
const keepAnswer = 10 * time.Second

// maxAsking bounds the requests open at once on one socket.
const maxAsking = 16

// errPending: the engine was asked and has not answered yet.
var errPending = fmt.Errorf("%w: asked, no answer yet", errEngineDown)

// NewEngineAPI returns a client for the engine API on socket.
func NewEngineAPI(socket string, now func() time.Time) *EngineAPI {
	return &EngineAPI{Socket: socket, Now: now}
}

// errEngineDown means the engine did not answer (no socket, refused,
// timed out, or resting after an earlier failure).
var errEngineDown = errors.New("engine API not answering")

// engineContainer is the part of GET /containers/{id}/json quell reads.
type engineContainer struct {
	ID     string `json:"Id"`
	Name   string `json:"Name"`
	Config struct {
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
	State struct {
		Pid int `json:"Pid"`
	} `json:"State"`
}

// Container returns the engine's record of the container id (a 64-hex ID:
// anything else is refused before it reaches a URL).
func (a *EngineAPI) Container(id string) (engineContainer, error) {
	var c engineContainer
	if a == nil || a.Socket == "" {
		return c, errEngineDown
	}
	if !bareRe.MatchString(id) {
		return c, fmt.Errorf("engine API: refusing container ID %q (not 64 hex digits)", id)
	}
	c, err := a.ask(id)
	if err != nil {
		return c, err
	}
	if c.ID != id {
		return engineContainer{}, fmt.Errorf("engine API %s: asked for %s, answered for %q", a.Socket, id, c.ID)
	}
	return c, nil
}

// ask returns the answer for id: one already in, or one that comes within
// Timeout of a new request; otherwise errPending, the request staying open.
func (a *EngineAPI) ask(id string) (engineContainer, error) {
	a.mu.Lock()
	a.forget()
	q := a.asked[id]
	if q == nil {
		if a.now().Before(a.quiet) {
			a.mu.Unlock()
			return engineContainer{}, fmt.Errorf("%w: %s (failed recently)", errEngineDown, a.Socket)
		}
		if len(a.asked) >= maxAsking {
			a.mu.Unlock()
			return engineContainer{}, fmt.Errorf("%w (%d requests open on %s)", errPending, maxAsking, a.Socket)
		}
		if a.asked == nil {
			a.asked = map[string]*asking{}
		}
		q = &asking{done: make(chan struct{})}
		a.asked[id] = q
		go func() {
			defer close(q.done)
			q.err = a.getWithin("/containers/"+id+"/json", &q.c, a.patience(), false)
			q.at = a.now()
		}()
	}
	wait := !q.waited
	q.waited = true
	a.mu.Unlock()
	if wait {
		t := time.NewTimer(a.timeout())
		defer t.Stop()
		select {
		case <-q.done:
		case <-t.C:
		}
	}
	select {
	case <-q.done:
		a.mu.Lock()
		delete(a.asked, id)
		a.mu.Unlock()
		return q.c, q.err
	default:
		return engineContainer{}, fmt.Errorf("%w: %s", errPending, a.Socket)
	}
}

// forget drops answers nobody took within keepAnswer (a container gone
// before its next pass), so they neither pile up nor go stale. a.mu held.
func (a *EngineAPI) forget() {
	for id, q := range a.asked {
		select {
		case <-q.done:
			if a.now().Sub(q.at) > keepAnswer {
				delete(a.asked, id)
			}
		default:
		}
	}
}

// settle waits until no request is open (tests).
func (a *EngineAPI) settle() {
	a.mu.Lock()
	qs := make([]*asking, 0, len(a.asked))
	for _, q := range a.asked {
		qs = append(qs, q)
	}
	a.mu.Unlock()
	for _, q := range qs {
		<-q.done
	}
}

// RootDir returns the engine's DockerRootDir from GET /info (dockerd's
// data-root), asked once and then remembered.
func (a *EngineAPI) RootDir() (string, error) {
	if a == nil || a.Socket == "" {
		return "", errEngineDown
	}
	a.mu.Lock()
	root := a.root
	a.mu.Unlock()
	if root != "" {
		return root, nil
	}
	var info struct {
		DockerRootDir string `json:"DockerRootDir"`
	}
	if err := a.getWithin("/info", &info, 4*a.timeout(), true); err != nil {
		return "", err
	}
	if info.DockerRootDir == "" || info.DockerRootDir[0] != '/' {
		return "", fmt.Errorf("engine API %s: /info gave DockerRootDir %q", a.Socket, info.DockerRootDir)
	}
	a.mu.Lock()
	a.root = info.DockerRootDir
	a.mu.Unlock()
	return info.DockerRootDir, nil
}

func (a *EngineAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *EngineAPI) httpClient() *http.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client == nil {
		sock := a.Socket
		a.client = &http.Client{
			Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, "unix", sock)
				},
				MaxIdleConns:    1,
				IdleConnTimeout: 30 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return a.client
}

func (a *EngineAPI) patience() time.Duration {
	if a.Patience > 0 {
		return a.Patience
	}
	return 20 * time.Second
}

func (a *EngineAPI) timeout() time.Duration {
	if a.Timeout > 0 {
		return a.Timeout
	}
	return 500 * time.Millisecond
}

// getWithin fetches path within timeout and decodes its JSON answer into
// v. checkRest: refuse while the socket rests (ask checks it itself).
func (a *EngineAPI) getWithin(path string, v any, timeout time.Duration, checkRest bool) error {
	if a == nil || a.Socket == "" {
		return errEngineDown
	}
	a.mu.Lock()
	resting := a.now().Before(a.quiet)
	a.mu.Unlock()
	if checkRest && resting {
		return fmt.Errorf("%w: %s (failed recently)", errEngineDown, a.Socket)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://engine"+path, nil)
	if err != nil {
		return err
	}
	resp, err := a.httpClient().Do(req)
	if err != nil {
		a.rest()
		return fmt.Errorf("%w: %s: %v", errEngineDown, a.Socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetaFile+1))
	if err != nil {
		a.rest()
		return fmt.Errorf("%w: %s: %v", errEngineDown, a.Socket, err)
	}
	if len(body) > MaxMetaFile {
		return fmt.Errorf("engine API %s %s: answer larger than %d bytes", a.Socket, path, MaxMetaFile)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("engine API %s %s: %s", a.Socket, path, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("engine API %s %s: %v", a.Socket, path, err)
	}
	a.mu.Lock()
	a.fails = 0
	a.mu.Unlock()
	return nil
}

// rest keeps requests off the socket: 1 s after one failure, doubling
// with each failure in a row up to Backoff.
func (a *EngineAPI) rest() {
	limit := a.Backoff
	if limit <= 0 {
		limit = 30 * time.Second
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fails++
	d := time.Second << min(a.fails-1, 10)
	a.quiet = a.now().Add(min(d, limit))
}
