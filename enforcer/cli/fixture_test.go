package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/view"
)

const (
	webID = "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70f"
	jobID = "9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
	dbID  = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
)

var at = time.Date(2025, 3, 1, 12, 0, 0, 0, time.Local)

// fixtureView: tenant acme (2 containers, within limits), tenant ci (1
// container, throttled, most CPU), and one unassigned nspawn machine.
func fixtureView() *view.View {
	pen := &view.PenaltyView{ID: jobID, Cgroup: "system.slice/docker-" + jobID + ".scope", Action: "throttle", Rule: "cpu-contention",
		Factor: 0.5, Since: at.Add(-time.Minute), Deadline: at.Add(time.Minute), Reason: "host.cpu.some.avg10 was 63.2 > 40 for 5s"}
	return &view.View{
		Time:   at,
		Source: "quelld",
		Policy: view.PolicyStatus{Valid: true, Summary: "1 file, 2 tenants, 1 rule, 0 detectors: valid", Files: []string{"/etc/quell/policy.d/10-tenants.toml"}, LoadedAt: at.Add(-time.Hour), Tried: at.Add(-time.Hour)},
		Host: view.HostView{CPUs: 8, MemTotal: 16 << 30, MemAvailable: 9 << 30, Signals: map[string]float64{
			"host.cpu.some.avg10": 42.5, "host.memory.some.avg10": 0.4, "host.io.some.avg10": 1.2}},
		Tenants: []view.TenantView{
			{Name: "acme", Class: "guaranteed", Mode: "slice", Containers: 2,
				Usage:  view.Usage{CPUs: 1.25, ThrottledPct: 2, MemoryBytes: 3 << 30, SwapBytes: 1 << 20, IOReadBps: 3_100_000, IOWriteBps: 250_000, Pids: 142, NetRxBps: 8_000_000, NetTxBps: 120_000_000, DiskBytes: 2 << 30, CPUPressure: 3, MemoryPressure: 0, IOPressure: 1},
				Limits: view.TenantLimits{CPUs: 2.5, MemoryBytes: 4 << 30, SwapBytes: 1 << 30, Pids: 4096, NetEgress: 100_000_000, NetIngress: 200_000_000, DiskBytes: 20 << 30}},
			{Name: "ci", Class: "best-effort", Mode: "caps", Containers: 1,
				Usage:      view.Usage{CPUs: 3.5, ThrottledPct: 48, MemoryBytes: 512 << 20, IOWriteBps: 45_000_000, Pids: 300, CPUPressure: 61},
				LastAction: "throttle 9b8c7d6e5f4a at 11:59:00"},
		},
		Containers: []view.ContainerView{
			{Container: view.Container{ID: webID, Cgroup: "system.slice/docker-" + webID + ".scope", Runtime: "docker", Name: "acme-web", PID: 4100, Tenant: "acme", Class: "guaranteed",
				Labels: map[string]string{"com.example.team": "web"}, MatchReason: `tenant "acme": cgroup matches "system.slice/docker-*.scope" and name "acme-web" matches "acme-*"`},
				Usage:  view.Usage{CPUs: 1.0, MemoryBytes: 1 << 30, Pids: 40, IOReadBps: 3_000_000},
				Limits: []view.Limit{{File: "cpu.max", Value: "200000 100000", Original: "max 100000"}, {File: "memory.max", Value: "4294967296", Original: "max"}},
				Set:    view.ContainerLimits{CPUs: 2, MemoryBytes: 4 << 30}},
			{Container: view.Container{ID: dbID, Cgroup: "system.slice/docker-" + dbID + ".scope", Runtime: "docker", Name: "acme-db", Tenant: "acme", Class: "guaranteed"},
				Usage: view.Usage{CPUs: 0.25, MemoryBytes: 2 << 30, Pids: 102, IOReadBps: 100_000}},
			{Container: view.Container{ID: jobID, Cgroup: "system.slice/docker-" + jobID + ".scope", Runtime: "docker", Name: "ci-job-17", Tenant: "ci", Class: "best-effort"},
				Usage:   view.Usage{CPUs: 3.5, ThrottledPct: 48, MemoryBytes: 512 << 20, Pids: 300},
				Limits:  []view.Limit{{File: "cpu.max", Value: "200000 100000"}},
				Set:     view.ContainerLimits{CPUs: 2},
				Penalty: pen},
			{Container: view.Container{ID: "build-runner-1", Cgroup: "machine.slice/systemd-nspawn@build-runner-1.service", Runtime: "nspawn"},
				Usage: view.Usage{CPUs: 0.5, MemoryBytes: 256 << 20, Pids: 12}},
		},
		Penalties: []view.PenaltyView{*pen},
		Loop:      view.LoopStatus{Interval: time.Second, LastTick: at, LastDuration: 12 * time.Millisecond, Watched: 57},
	}
}

func fixtureSource() *api.FakeSource {
	v := fixtureView()
	return &api.FakeSource{
		ViewValue: v,
		EventList: []view.Event{
			{Seq: 1, Time: at.Add(-time.Hour), Kind: "limit", Tenant: "acme", Target: webID, Before: "max 100000", After: "200000 100000", Reason: "tenant acme container.cpus = 2"},
			{Seq: 2, Time: at.Add(-time.Minute), Kind: "throttle", Tenant: "ci", Target: jobID, Rule: "cpu-contention", Before: "200000 100000", After: "100000 100000", Reason: "host.cpu.some.avg10 was 63.2 > 40 for 5s", Signals: map[string]float64{"host.cpu.some.avg10": 63.2}},
		},
		Explanations: map[string]*view.Explanation{
			v.Containers[0].Cgroup: {
				Container: v.Containers[0],
				Tenant:    &v.Tenants[0],
				Match:     `tenant "acme" (policy.d/10-tenants.toml:12): cgroup matches "system.slice/docker-*.scope" and name "acme-web" matches "acme-*"`,
				Meta:      "Docker container store /var/lib/docker/containers/3f2a…/config.v2.json",
				Limits: []view.Change{
					{File: "cpu.max", Old: "max 100000", New: "200000 100000", Why: "tenant acme container.cpus = 2 (policy.d/10-tenants.toml:30)"},
					{File: "memory.max", Old: "max", New: "4294967296", Why: "tenant acme container.memory = 4GiB"},
				},
				Rules:  []string{`none: tenant acme is guaranteed and within its limits, so rule "cpu-contention" (targets best-effort, burstable) cannot target it`},
				Events: []view.Event{{Seq: 1, Time: at.Add(-time.Hour), Kind: "limit", Tenant: "acme", Target: webID, Before: "max 100000", After: "200000 100000", Reason: "tenant acme container.cpus = 2"}},
			},
		},
		PlanEntries: []view.PlanEntry{
			{Cgroup: "quell.slice/quell-acme.slice", Tenant: "acme", Changes: []view.Change{
				{File: "cpu.max", Old: "max 100000", New: "250000 100000", Why: "tenant acme limits.cpus = 2.5"},
				{File: "memory.max", Old: "max", New: "4294967296", Why: "tenant acme limits.memory = 4GiB"}}},
			{Cgroup: "system.slice/docker-" + dbID + ".scope", Container: dbID, Tenant: "acme"},
		},
	}
}

// serve runs an API server for src on a socket in a temp dir, identifying
// every caller as root, and returns the socket path.
func serve(t *testing.T, src api.Source) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.sock")
	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- api.NewServer(src, api.Options{Version: "0.9.0", PollInterval: 10 * time.Millisecond,
			PeerCreds: func(net.Conn) (api.Creds, error) { return api.Creds{UID: 0}, nil }}).Serve(ctx, l)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return path
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs quell with args against opts; ctx may be nil.
func run(t *testing.T, ctx context.Context, opts Options, args ...string) result {
	t.Helper()
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.IsTerminal == nil {
		opts.IsTerminal = func(io.Writer) (bool, int) { return false, 0 }
	}
	if opts.Terminal.Keys == nil { // never the test process's own stdin
		opts.Terminal.Keys = bytes.NewReader(nil)
	}
	var out, errb bytes.Buffer
	code := Main(ctx, args, &out, &errb, opts)
	return result{code, out.String(), errb.String()}
}
