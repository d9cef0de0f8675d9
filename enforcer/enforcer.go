package enforcer

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quell-dev/quell/enforcer/discover"
	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/limits"
	"github.com/quell-dev/quell/policies"
)

// Enforcer is quelld's loop. Create it with New, drive it with Run (or Tick
// in tests), read it through View, Events, Explain and Plan.
type Enforcer struct {
	cfg   Config
	fs    cgroupFS
	units unitSetter
	clock Clock
	log   *slog.Logger
	store *state.Store

	policyMu sync.Mutex
	policy   *policies.Policy // last good
	pstatus  view.PolicyStatus

	// Loop-owned state (only the loop goroutine touches it).
	known          map[string]*tracked // by cgroup
	knownOrder     []string            // known's keys, sorted (sortedKnown)
	planBuf        []plan              // desire's plans of the last pass: their slice is reused
	obs            observeState        // observe's per-cgroup state (observe_state.go)
	hostMu         sync.Mutex          // hostPSI: the loop and sampleHost
	hostPSI        [3]psiWindow        // /proc/pressure/{cpu,memory,io}, for .avg1
	ticks          uint64              // passes published
	wokenTicks     uint64              // of them, woken by PSI
	fullReads      uint64              // containers read in full since start
	beats          uint64              // scheduled passes (not PSI wake-ups): periodic re-reads are due by it
	woken          bool                // the pass running is one a PSI trigger woke (Run sets it)
	lastScan       time.Time
	walkCapped     bool      // the last walk stopped at discover.MaxContainers (logged once)
	prevStart      time.Time // when the previous pass began (a late pass is reported)
	slow           slowReporter
	rescan         atomic.Bool
	classifiedWith *policies.Policy
	applied        map[string]appliedSet // cgroup → what quell last made it
	sliceQuota     map[string]float64    // tenant → CPUs its slice got last tick
	loopMu         sync.Mutex            // held by Tick, Plan, Explain and Release

	sliceLast map[string]limits.Resources // tenant → its slice's plan last tick (the split's Last)

	view   atomic.Pointer[view.View]
	hooks  Hooks
	slices map[string]bool // tenant slices known to exist
	ticked chan struct{}   // closed after the first tick
	once   sync.Once
	events *recorder
	det    *actor

	// Network shaping and disk quotas (netshape.go, diskquota.go); nil
	// when ReadOnly. Loop-owned state, keyed by cgroup.
	shaper     NetShaper
	nets       map[string]*netEntry
	quotas     DiskQuotas
	disks      map[string]*diskEntry
	tenantDisk map[string]int64 // tenant → bytes in its shared project, last tick

	prlimit Prlimiter // ulimits.go

	hostStall   [3]*view.StallCounters // host PSI totals at the last read (hostMu)
	errorsTotal uint64                 // errors in every pass published (metrics)
}

// tracked is one container the loop follows between ticks.
type tracked struct {
	found   discover.Found
	foundAt time.Time
	metaAt  time.Time // when its runtime metadata was last read
	metaLog string    // the metadata error last logged, so each is logged once
	dupLog  string    // the duplicate-ID refusal last logged
	c       view.Container
	prev    limits.Stats
	prevT   time.Time
	usage   view.Usage
	errs    []string
	quota   float64       // CPUs quell gave it last tick (split mode), 0 = none
	psi     [3]limits.PSI // cpu, memory, io pressure at the last read
	psiOK   [3]bool       // whether that read worked
	psiWin  [3]psiWindow  // for the .avg1 signals
	// runtime: the limits its runtime set, by original key (ceiling.go);
	// nil until read. last: the limits its plan had last pass.
	runtime    map[string]string
	runtimeGen uint64 // counts the changes of runtime (setRuntime)
	last       limits.Resources
	// noState: its runtime's state directory (runc's, crun's) was there
	// without its state file at the last read; see settling.
	noState bool
	// ulimits: the ulimits set on its processes this pass (ulimits.go);
	// ulimitEv: by resource, the value and reason last told in an event.
	ulimits  []view.Limit
	ulimitEv map[string]string
	// rt and plans: what planning keeps of it between passes (desire.go).
	rt    runtimeMemo
	plans planMemo
	pub   publishMemo // publish_memo.go
	// errTotal counts errs over every pass since it was found (metrics).
	errTotal uint64
}

// stateWait is how long a container whose runtime state has not appeared
// is left alone after its cgroup was found. The runtime is still creating
// it: runc (systemd driver) sets the scope's properties and attaches its
// device filter after systemd made the scope, and a unit property change
// from quelld in between makes systemd replace that filter, so runc's own
// attach fails and `docker run` with it (seen in the lab under load:
// "failed to call BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI):
// can't attach program: no such file or directory"). The state is written
// once the container is set up; runc made the state's directory before the
// cgroup, so only a directory without its state file is waited for. After
// stateWait a container without state is limited by its cgroup path alone.
const stateWait = 15 * time.Second

// settling reports whether t's runtime may still be creating it.
func (t *tracked) settling(now time.Time) bool {
	return t.noState && now.Sub(t.foundAt) < stateWait
}

// appliedSet is what reconcile wrote on a cgroup, with why, for the view.
type appliedSet struct {
	tenant  string
	changes []view.Change     // the last diff (empty when nothing had to change)
	why     map[string]string // file → why, from the plan
	by      map[string]string // file → which layer decided it (desire.Decided*)
	values  map[string]string // file → value in the kernel after this tick's reconcile

	wanted   []limits.Write // what quell wanted when it last read the files
	missing  []string       // files the kernel did not offer then
	verified uint64         // pass count (less a jitter) of that read

	// told: file + "\x00" + why, for each reason a "limit" event was
	// recorded for on this cgroup (reconcile.go).
	told map[string]bool
}

// Hooks let the daemon count what the loop does (metrics) without the
// loop knowing about metrics.
type Hooks struct {
	OnEvent     func(view.Event)    // each recorded event
	OnReconcile func(time.Duration) // each reconcile pass
}

// WithHooks installs hooks.
func WithHooks(h Hooks) Option { return func(e *Enforcer) { e.hooks = h } }

// Option changes how New builds the enforcer.
type Option func(*Enforcer)

// WithClock injects the time source.
func WithClock(c Clock) Option { return func(e *Enforcer) { e.clock = c } }

// WithCgroupFS injects the cgroupfs side (tests).
func WithCgroupFS(fs cgroupFS) Option { return func(e *Enforcer) { e.fs = fs } }

// WithUnits routes writes on systemd-owned units through systemd.
func WithUnits(u unitSetter) Option { return func(e *Enforcer) { e.units = u } }

// New opens the state dir, loads the policy and builds the enforcer. An
// invalid policy at start is not fatal: quelld then enforces nothing until a
// valid one arrives, and says so in its status.
func New(cfg Config, opts ...Option) (*Enforcer, error) {
	cfg.defaults()
	e := &Enforcer{cfg: cfg, clock: realClock{}, log: cfg.Logger,
		ticked: make(chan struct{}), slices: map[string]bool{}, known: map[string]*tracked{}, applied: map[string]appliedSet{}, sliceQuota: map[string]float64{},
		sliceLast: map[string]limits.Resources{}}
	for _, o := range opts {
		o(e)
	}
	if e.fs == nil {
		e.fs = limits.NewFS(cfg.CgroupRoot, limits.WithSelf(cfg.SelfCgroup))
	}
	if e.prlimit == nil {
		e.prlimit = sysPrlimit{}
	}
	e.initNetDisk()
	if cfg.ReadOnly {
		e.cfg.DryRun = true
		e.store = state.OpenReadOnly(cfg.StateDir)
	} else {
		st, err := state.Open(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		e.store = st
	}
	e.slow.log = e.log
	e.events = newRecorder(e.store, 1000, e.log)
	e.events.onEvent = e.hooks.OnEvent
	if r := e.store.Recovered(); r != "" { // a corrupt state file never keeps quelld down; it says so
		e.log.Error("state file recovered", "detail", r)
		e.events.add(view.Event{Time: e.clock.Now(), Kind: "error", Reason: r})
	}
	e.det = newDetector(e.cfg, e.clock)
	if err := e.Reload(context.Background()); err != nil {
		e.log.Error("policy invalid at start; enforcing nothing until a valid one is loaded", "err", err)
	}
	e.view.Store(&view.View{Time: e.clock.Now(), Source: e.source(), DryRun: e.cfg.DryRun, Policy: e.policyStatus()})
	return e, nil
}

// Run blocks, ticking every Interval until ctx ends. Then it stands down:
// penalties are lifted (nothing stays frozen) and state is saved; limits
// stay in place (restored only when a container leaves policy) so that a
// restart does not open the floodgates.
func (e *Enforcer) Run(ctx context.Context) error {
	e.restorePenalties(ctx)
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	var pressure <-chan struct{}
	if !e.cfg.ReadOnly && !e.cfg.NoPressureWakeups {
		pressure = e.armPressure(ctx)
		go e.sampleHost(ctx)
	}
	for {
		e.Tick(ctx)
		select {
		case <-ctx.Done():
			e.standDown()
			e.obs.closeAll()
			return nil
		case <-t.C:
			e.woken = false
		case <-pressure: // a PSI trigger fired: look now, not at the next tick
			e.woken = true
		}
	}
}

func (e *Enforcer) source() string {
	if e.cfg.ReadOnly {
		return "cgroupfs"
	}
	return "quelld"
}

// Observe builds a read-only enforcer for the CLI when quelld is not
// running: it discovers, classifies and reads usage twice, gap apart (so
// rates exist), writes nothing anywhere, and returns it for View, Explain
// and Plan.
func Observe(ctx context.Context, cfg Config, gap time.Duration) (*Enforcer, error) {
	cfg.ReadOnly = true
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	e.Tick(ctx)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(gap):
	}
	e.Tick(ctx)
	return e, nil
}

// Ticked is closed once the first tick has discovered, reconciled and
// published (the moment to tell systemd READY=1).
func (e *Enforcer) Ticked() <-chan struct{} { return e.ticked }

// RequestRescan makes the next tick rediscover (called on inotify events).
func (e *Enforcer) RequestRescan() { e.rescan.Store(true) }

// Tick runs one pass of the loop. One cgroup's error never stops the rest.
func (e *Enforcer) Tick(ctx context.Context) {
	e.loopMu.Lock()
	defer e.loopMu.Unlock()
	start := e.clock.Now()
	errs := 0
	defer func() {
		if r := recover(); r != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			e.log.Error("tick panicked; continuing", "panic", fmt.Sprint(r), "stack", string(buf))
		}
	}()
	if !e.woken {
		e.beats++
	} else {
		e.wokenTicks++
	}
	pt := newPassTimer(e.clock.Now, start)
	pol := e.currentPolicy()
	if e.rescan.Swap(false) || start.Sub(e.lastScan) >= e.cfg.Resync || e.lastScan.IsZero() {
		errs += e.discover(pol)
		e.lastScan = start
	} else if pol != nil && e.policyChanged(pol) {
		e.classifyAll(pol)
	}
	e.retryMeta(pol, start)
	pt.mark("discover")
	host := e.observeHost()
	errs += e.observe(start)
	pt.mark("observe")
	plans := e.desire(pol)
	pt.mark("desire")
	errs += e.reconcile(ctx, plans)
	pt.mark("reconcile")
	if e.hooks.OnReconcile != nil {
		e.hooks.OnReconcile(pt.steps[len(pt.steps)-1].d)
	}
	errs += e.shapeNetwork(ctx, pol)
	errs += e.quotaDisks(pol)
	errs += e.applyUlimits(pol)
	pt.mark("net+disk+ulimits")
	errs += e.detectAndAct(ctx, pol, host, start)
	pt.mark("detect+act")
	e.publish(start, host, plans, errs)
	e.once.Do(func() { close(e.ticked) })
	if err := e.save(); err != nil {
		e.log.Error("save state", "err", err)
	}
	pt.mark("publish+save")
	if !e.cfg.ReadOnly {
		e.slow.report(pt, e.cfg.Interval, e.prevStart)
	}
	e.prevStart = start
}
