package discover

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeEngine serves handler on a unix socket in a temp dir and returns the
// socket's path.
func fakeEngine(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "engine")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "e.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func engineJSON(id, name string, pid int, labels string) string {
	return fmt.Sprintf(`{"Id":%q,"Name":%q,"Config":{"Labels":{%s}},"State":{"Pid":%d}}`, id, name, labels, pid)
}

// dockerState lays out a Docker container's runc state (init PID 4242)
// under r, with no store entry.
func dockerState(t *testing.T, r Roots) Found {
	t.Helper()
	cg := "system.slice/docker-" + idA + ".scope"
	writeFile(t, filepath.Join(r.Run, "docker/runtime-runc/moby", idA, "state.json"),
		`{"id":"`+idA+`","init_process_pid":4242,"init_process_start":777,"config":{"cgroups":{"parent":"system.slice","scope_prefix":"docker","name":"`+idA+`"},"labels":["bundle=/b/`+idA+`"]}}`)
	writeFile(t, filepath.Join(r.Proc, "4242/cgroup"), "0::/"+cg+"\n")
	writeFile(t, filepath.Join(r.Proc, "4242/stat"), "4242 (sleep) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 777 1000 10 0\n")
	return Found{ID: idA, Runtime: "docker", Cgroup: cg}
}

// TestReadMetaFollowsDaemonJSONDataRoot: Docker's store moved by
// daemon.json's data-root (the daemon down) is where name and labels come
// from, and the explanation says so.
func TestReadMetaFollowsDaemonJSONDataRoot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := Roots{Run: filepath.Join(dir, "run"), Docker: filepath.Join(dir, "var-lib-docker"), Proc: filepath.Join(dir, "proc"),
		DockerConfig: filepath.Join(dir, "daemon.json"), DockerAPI: NewEngineAPI(filepath.Join(dir, "no.sock"), nil)}
	f := dockerState(t, r)
	moved := filepath.Join(dir, "mnt/xfs/docker")
	writeFile(t, r.DockerConfig, `{"data-root": "`+moved+`", "iptables": false}`)
	writeFile(t, filepath.Join(moved, "containers", idA, "config.v2.json"), `{"Name":"/web-1","Config":{"Labels":{"team":"web"}}}`)
	m, err := r.ReadMeta(f)
	if err != nil || m.Name != "web-1" || m.Labels["team"] != "web" || m.PID != 4242 {
		t.Fatalf("ReadMeta = %+v, %v", m, err)
	}
	want := filepath.Join(moved, "containers", idA, "config.v2.json")
	if m.Sources["name"] != want || !strings.Contains(m.Sources["data-root"], r.DockerConfig) {
		t.Errorf("sources = %v, want name from %s and data-root from %s", m.Sources, want, r.DockerConfig)
	}
}

// TestReadMetaAsksDockersAPI: the engine's /info moves the data-root, and
// without a store entry the container's own record is asked for.
func TestReadMetaAsksDockersAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var pid atomic.Int64
	pid.Store(4242)
	sock := fakeEngine(t, func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.URL.Path == "/info":
			fmt.Fprintf(w, `{"DockerRootDir":%q}`, filepath.Join(dir, "api-root"))
		case req.URL.Path == "/containers/"+idA+"/json":
			fmt.Fprint(w, engineJSON(idA, "/web-1", int(pid.Load()), `"team":"web"`))
		default:
			http.NotFound(w, req)
		}
	})
	r := Roots{Run: filepath.Join(dir, "run"), Docker: filepath.Join(dir, "var-lib-docker"), Proc: filepath.Join(dir, "proc"),
		DockerAPI: patientAPI(sock)}
	f := dockerState(t, r)
	m, err := r.ReadMeta(f)
	if err != nil || m.Name != "web-1" || m.Labels["team"] != "web" {
		t.Fatalf("ReadMeta = %+v, %v", m, err)
	}
	if !strings.Contains(m.Sources["name"], "Docker Engine API "+sock) {
		t.Errorf("name source %q", m.Sources["name"])
	}
	if got := r.resolved().Docker; got != filepath.Join(dir, "api-root") {
		t.Errorf("data-root = %s, want the API's", got)
	}
	// The engine naming another init PID than the runtime state: its
	// answer is not taken.
	pid.Store(999)
	m, err = r.ReadMeta(f)
	if !errors.Is(err, ErrIncomplete) || m.Name != "" || m.Labels["team"] != "" {
		t.Fatalf("engine with another PID: ReadMeta = %+v, %v; want incomplete, no name", m, err)
	}
}

// TestEngineAPIRefusesAndRests: a hung daemon costs the caller one
// Timeout, then nothing while the request stays open (Patience); after it
// failed the socket rests; a huge answer, an answer for another ID and a
// non-hex ID are refused.
func TestEngineAPIRefusesAndRests(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	release := make(chan struct{})
	hung := fakeEngine(t, func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		<-release
	})
	defer close(release)
	var clock atomic.Int64 // fake time, ns since the epoch (read by the requests' goroutines too)
	clock.Store(int64(1000 * time.Second))
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	a := &EngineAPI{Socket: hung, Timeout: 200 * time.Millisecond, Patience: 300 * time.Millisecond, Backoff: 10 * time.Second, Now: now}
	start := time.Now()
	if _, err := a.Container(idA); !errors.Is(err, errEngineDown) || !errors.Is(err, errPending) {
		t.Fatalf("hung daemon: %v, want errPending", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("first ask returned after %v, want it to wait Timeout (200ms) for the answer", d)
	}
	start = time.Now()
	if _, err := a.Container(idA); !errors.Is(err, errPending) || calls.Load() != 1 {
		t.Fatalf("second ask: %v after %d calls; want pending, no new call", err, calls.Load())
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("second ask took %v; the loop must not wait Timeout (200ms) again for an open request", d)
	}
	a.settle() // the request fails at Patience: the socket rests
	// Rests of 1 s, 2 s, 4 s, then Backoff (10 s) at most.
	for i, rest := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		advance(rest - time.Millisecond)
		if _, err := a.Container(idA); !errors.Is(err, errEngineDown) || errors.Is(err, errPending) || calls.Load() != int64(i+1) {
			t.Fatalf("within rest %d (%v): %v after %d calls; want a rest, no call", i, rest, err, calls.Load())
		}
		advance(time.Millisecond)
		if _, err := a.Container(idA); !errors.Is(err, errPending) {
			t.Fatalf("after rest %d (%v): %v; want asked again", i, rest, err)
		}
		a.settle()
		if calls.Load() != int64(i+2) {
			t.Fatalf("after rest %d: %d calls, want %d", i, calls.Load(), i+2)
		}
	}

	big := fakeEngine(t, func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, idB) {
			fmt.Fprint(w, engineJSON(idA, "/other", 1, ""))
			return
		}
		w.Write([]byte(`{"Id":"` + idA + `","Name":"`))
		w.Write([]byte(strings.Repeat("x", MaxMetaFile+10)))
	})
	b := patientAPI(big)
	if _, err := b.Container(idA); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge answer: %v", err)
	}
	if _, err := b.Container(idB); err == nil || !strings.Contains(err.Error(), "answered for") {
		t.Errorf("answer for another ID: %v", err)
	}
	if _, err := b.Container("../../info"); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("path in an ID: %v", err)
	}
}

// TestReadMetaPodman: names and labels from podman's API; with the API
// down, the name from containers/storage below storage.conf's graphroot,
// and the labels said to be unknown.
func TestReadMetaPodman(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	up := fakeEngine(t, func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprint(w, engineJSON(idC, "ci-1", 321, `"team":"ci"`))
	})
	r := Roots{Run: filepath.Join(dir, "run"), Proc: filepath.Join(dir, "proc"), Containers: filepath.Join(dir, "default-graph"),
		StorageConf: filepath.Join(dir, "storage.conf"), PodmanAPI: patientAPI(up)}
	cg := "machine.slice/libpod-" + idC + ".scope"
	writeFile(t, filepath.Join(r.Run, "crun", idC, "status"), `{"pid":321,"process-start-time":500,"cgroup-path":"/`+cg+`/container","scope":"libpod-`+idC+`.scope"}`)
	writeFile(t, filepath.Join(r.Proc, "321/cgroup"), "0::/"+cg+"/container\n")
	writeFile(t, filepath.Join(r.Proc, "321/stat"), "321 (catatonit) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 1 1\n")
	graph := filepath.Join(dir, "mnt/xfs/podman")
	writeFile(t, r.StorageConf, "[storage]\ndriver = \"overlay\"\ngraphroot = \""+graph+"\"\n")
	writeFile(t, filepath.Join(graph, "overlay-containers/containers.json"), `[{"id":"`+idC+`","names":["ci-1-from-storage"],"layer":"l1"}]`)
	f := Found{ID: idC, Runtime: "podman", Cgroup: cg}
	m, err := r.ReadMeta(f)
	if err != nil || m.Name != "ci-1" || m.Labels["team"] != "ci" || !strings.Contains(m.Sources["labels"], "podman API") {
		t.Fatalf("API up: ReadMeta = %+v, %v", m, err)
	}
	r.PodmanAPI = NewEngineAPI(filepath.Join(dir, "down.sock"), nil)
	m, err = r.ReadMeta(f)
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "labels unknown") || m.Name != "ci-1-from-storage" || m.PID != 321 {
		t.Fatalf("API down: ReadMeta = %+v, %v; want the name from containers.json, labels unknown", m, err)
	}
	if m.Sources["name"] != filepath.Join(graph, "overlay-containers/containers.json") {
		t.Errorf("name source %q", m.Sources["name"])
	}
}

func TestDataRootConfigs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct{ body, want, err string }{
		{`{"graph": "/old/docker"}`, "/old/docker", ""},
		{`{"data-root": "/a/", "graph": "/b"}`, "/a", ""},
		{`{"data-root": "rel/dir"}`, "", "not an absolute path"},
		{`{`, "", "parse"},
	} {
		p := filepath.Join(dir, "d.json")
		writeFile(t, p, c.body)
		got, err := daemonJSONRoot(p)
		if got != c.want || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("daemon.json %s: %q, %v; want %q, %q", c.body, got, err, c.want, c.err)
		}
	}
	if got, err := daemonJSONRoot(filepath.Join(dir, "missing.json")); got != "" || err != nil {
		t.Errorf("missing daemon.json: %q, %v", got, err)
	}
	p := filepath.Join(dir, "storage.conf")
	writeFile(t, p, "[storage]\ngraphroot = \"x/y\"\n")
	if _, err := storageConfRoot(p); err == nil {
		t.Error("relative graphroot accepted")
	}
}

// TestEngineAPISlowStartAnswersNextPass: podman's socket-activated API
// takes longer than Timeout to answer its first request; the request stays
// open and the next ask takes the answer.
func TestEngineAPISlowStartAnswersNextPass(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	slow := fakeEngine(t, func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		time.Sleep(200 * time.Millisecond)
		fmt.Fprint(w, engineJSON(idC, "ci-1", 321, `"team":"ci"`))
	})
	a := &EngineAPI{Socket: slow, Timeout: 20 * time.Millisecond}
	if _, err := a.Container(idC); !errors.Is(err, errPending) {
		t.Fatalf("first ask of a slow engine: %v, want errPending", err)
	}
	a.settle()
	c, err := a.Container(idC)
	if err != nil || c.Name != "ci-1" || c.Config.Labels["team"] != "ci" || calls.Load() != 1 {
		t.Fatalf("next ask: %+v, %v after %d calls; want the first request's answer", c, err, calls.Load())
	}
	// Taken once: a later ask is a new request.
	if _, err := a.Container(idC); !errors.Is(err, errPending) || calls.Load() != 2 {
		t.Fatalf("ask after the answer was taken: %v after %d calls; want a new request", err, calls.Load())
	}
	a.settle()
}

// patientAPI is a client whose callers wait long enough for an answer on
// a loaded test host: the tests using it are about what is answered.
func patientAPI(sock string) *EngineAPI {
	return &EngineAPI{Socket: sock, Timeout: 20 * time.Second, Patience: 30 * time.Second}
}
