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
// Every request has a short deadline and a capped answer. A socket that
// failed is left alone for a while, 1 s after the first failure, doubling
// up to Backoff, so a hung daemon costs one deadline per Backoff, not one
// per container per pass, while a socket-activated service that was still
// starting (podman's) is asked again soon. An EngineAPI is safe for
// concurrent use.
type EngineAPI struct {
	Socket  string
	Timeout time.Duration // per request; 0: 500ms
	Backoff time.Duration // longest rest after failures; 0: 30s
	Now     func() time.Time

	mu      sync.Mutex
	quiet   time.Time // no request before this
	fails   int       // failures in a row
	root    string    // DockerRootDir, once known
	rootErr error
	client  *http.Client
}

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
	if err := a.get("/containers/"+id+"/json", &c); err != nil {
		return c, err
	}
	if c.ID != id {
		return engineContainer{}, fmt.Errorf("engine API %s: asked for %s, answered for %q", a.Socket, id, c.ID)
	}
	return c, nil
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
	if err := a.getWithin("/info", &info, 4*a.timeout()); err != nil {
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

func (a *EngineAPI) timeout() time.Duration {
	if a.Timeout > 0 {
		return a.Timeout
	}
	return 500 * time.Millisecond
}

// get fetches path and decodes its JSON answer into v.
func (a *EngineAPI) get(path string, v any) error { return a.getWithin(path, v, a.timeout()) }

// getWithin is get with its own deadline (/info is slower than the rest,
// and asked once).
func (a *EngineAPI) getWithin(path string, v any, timeout time.Duration) error {
	if a == nil || a.Socket == "" {
		return errEngineDown
	}
	a.mu.Lock()
	resting := a.now().Before(a.quiet)
	a.mu.Unlock()
	if resting {
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
