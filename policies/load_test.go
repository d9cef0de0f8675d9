package policies

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// The example in DESIGN.md must parse, with exactly these values.
func TestDesignExample(t *testing.T) {
	t.Parallel()
	const file = "testdata/design/policy.toml"
	p, err := Load([]string{file}, Options{HostCPUs: 8, DeviceExists: func(string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Files: []string{file},
		Tenants: []Tenant{{
			Name:  "acme",
			Class: Guaranteed,
			Match: Match{
				Cgroups: []string{"system.slice/docker-*.scope"},
				Names:   []string{"acme-*"},
				Labels:  map[string]string{"io.kubernetes.pod.namespace": "acme"},
			},
			Limits: Limits{
				CPUs:       ptr(2.5),
				CPUWeight:  ptr[uint64](200),
				Cpuset:     ptr("0-3"),
				Memory:     ptr[int64](4294967296),
				MemoryHigh: ptr[int64](3584 << 20),
				MemoryLow:  ptr[int64](1 << 30),
				Swap:       ptr[int64](1 << 30),
				Pids:       ptr[int64](4096),
				IO:         []IOLimit{{Device: "/dev/vda", ReadBPS: 200e6, WriteBPS: 50e6, ReadIOPS: 4000, WriteIOPS: 1000}},
				IOWeight:   ptr[uint64](100),
				Net:        &NetLimit{EgressBits: 100000000, IngressBits: 200000000},
				Disk:       &DiskLimit{Bytes: 20 << 30, Inodes: 1000000},
			},
			Container: Limits{Memory: ptr[int64](1 << 30)},
			Pos:       Pos{File: file, Line: 1, Col: 1},
		}},
		Rules: []Rule{{
			Name:   "cpu-contention",
			When:   When{Signal: "host.cpu.some.avg10", Above: ptr(40.0), For: 5 * time.Second},
			Target: Target{Classes: []Class{BestEffort, Burstable}, Rank: "cpu"},
			Ladder: []Step{
				{Action: "throttle", Factor: 0.5, For: time.Minute},
				{Action: "freeze", For: 30 * time.Second},
				{Action: "evict"},
			},
			Cooldown:   30 * time.Second,
			Quarantine: ptr(10 * time.Minute),
			Pos:        Pos{File: file, Line: 24, Col: 1},
		}},
		Detectors: []Detector{{
			Name: "miner", Kind: "flat-cpu", MinCPUs: 0.9, MaxStddev: DefaultMaxStddev,
			Window: 10 * time.Minute, Action: "evict",
			Pos: Pos{File: file, Line: 32, Col: 1},
		}},
	}
	want.compile()
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
		if !reflect.DeepEqual(p.Tenants, want.Tenants) {
			t.Errorf("tenants differ:\ngot  %+v\nwant %+v", p.Tenants[0].Limits, want.Tenants[0].Limits)
		}
	}
	if got, want := p.Summary(), "1 file, 1 tenant, 1 rule, 1 detector: valid"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// The sample policy the lead ships must load, and take the containers it
// says it takes.
func TestExamplePolicy(t *testing.T) {
	t.Parallel()
	p, err := Load([]string{"testdata/example"}, Options{HostCPUs: 8})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Summary(), "1 file, 3 tenants, 1 rule, 1 detector: valid"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	tests := []struct {
		c    Container
		want string
	}{
		{Container{Cgroup: "system.slice/docker-0123abcd.scope", Name: "acme-web"}, "acme"},
		{Container{Cgroup: "system.slice/docker-0123abcd.scope", Name: "ci-build-17"}, "ci"},
		{Container{Cgroup: "system.slice/docker-0123abcd.scope", Name: "runner-3"}, "ci"},
		{Container{Cgroup: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-ab.scope",
			Labels: map[string]string{"io.kubernetes.pod.namespace": "batch"}, TrustedLabels: map[string]string{"io.kubernetes.pod.namespace": "batch"}}, "batch"},
		// The example trusts only the CRI's namespace: a pod's own claim is not enough.
		{Container{Cgroup: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-ab.scope",
			Labels: map[string]string{"io.kubernetes.pod.namespace": "batch"}}, ""},
		{Container{Cgroup: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-ab.scope",
			Labels: map[string]string{"io.kubernetes.pod.namespace": "default"}}, ""},
		{Container{Cgroup: "system.slice/docker-0123abcd.scope", Name: "postgres"}, ""},
	}
	for _, tt := range tests {
		got := ""
		if ten := p.TenantFor(tt.c); ten != nil {
			got = ten.Name
		}
		if got != tt.want {
			t.Errorf("TenantFor(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestLoadDirectoryLexicalOrder(t *testing.T) {
	t.Parallel()
	p, err := Load([]string{"testdata/order"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ten := range p.Tenants {
		names = append(names, ten.Name)
	}
	// .hidden.toml and README.md are not read.
	if want := []string{"a-first", "b-first", "c-last"}; !reflect.DeepEqual(names, want) {
		t.Errorf("tenants %v, want %v", names, want)
	}
	wantFiles := []string{"testdata/order/10-a.toml", "testdata/order/20-b.toml", "testdata/order/30-c.toml"}
	if !reflect.DeepEqual(p.Files, wantFiles) {
		t.Errorf("files %v, want %v", p.Files, wantFiles)
	}
	// Paths are merged in the order given; a file given twice is read once.
	p, err = Load([]string{"testdata/order/30-c.toml", "testdata/order", "testdata/order/10-a.toml"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Tenants[0].Name; got != "c-last" {
		t.Errorf("first tenant %q, want c-last", got)
	}
	if got, want := p.Summary(), "3 files, 3 tenants, 0 rules, 0 detectors: valid"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

func TestLoadDuplicateAcrossFiles(t *testing.T) {
	t.Parallel()
	_, err := Load([]string{"testdata/dup"}, Options{})
	want := `testdata/dup/20-two.toml:7:3: tenant "acme": name "acme" is already used by the tenant at testdata/dup/10-one.toml:2:1`
	if err == nil || err.Error() != want {
		t.Errorf("got error\n%v\nwant\n%s", err, want)
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Key != "name" || es[0].Line != 7 || es[0].Col != 3 {
		t.Errorf("want one *Error at 7:3 for key name, got %#v", es)
	}
}

func TestLoadPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := Load([]string{empty}, Options{})
	if err != nil || p.Summary() != "0 files, 0 tenants, 0 rules, 0 detectors: valid" {
		t.Errorf("empty dir: %v, %v", p, err)
	}

	missing := filepath.Join(dir, "nope")
	_, err = Load([]string{missing}, Options{})
	if err == nil || err.Error() != missing+": no such file or directory" {
		t.Errorf("missing dir: got %v", err)
	}
	_, err = Load(nil, Options{})
	if err == nil {
		t.Error("no paths: no error")
	}

	// A problem in a file and a missing path are both reported.
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[[tenant]]\nname = \"x\"\nclas = \"burstable\"\n[tenant.match]\nnames=[\"x\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load([]string{bad, missing}, Options{})
	want := missing + ": no such file or directory\n" +
		bad + `:3:1: tenant "x": unknown key "clas" (did you mean "class"?)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestErrorsFormat(t *testing.T) {
	t.Parallel()
	es := Errors{
		{File: "a.toml", Line: 3, Col: 1, Key: "name", Owner: `tenant "x"`, Msg: "bad"},
		{File: "b.toml", Msg: "permission denied"},
		{File: "c.toml", Line: 2, Msg: "TOML syntax: boom"},
	}
	want := "a.toml:3:1: tenant \"x\": bad\nb.toml: permission denied\nc.toml:2: TOML syntax: boom"
	if got := es.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var e *Error
	if !errors.As(error(es), &e) || e.Key != "name" {
		t.Errorf("errors.As(Errors, *Error) = %v", e)
	}
	if !strings.Contains(es.Error(), "\n") {
		t.Error("not one per line")
	}
}
