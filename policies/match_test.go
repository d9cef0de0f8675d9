package policies

import (
	"strings"
	"testing"
)

const matchPolicy = `
[[tenant]]
name = "acme"
[tenant.match]
cgroups = ["system.slice/docker-*.scope"]
names = ["acme-*"]

[[tenant]]
name = "acme-k8s"
[tenant.match]
cgroups = ["kubepods.slice/*/*/cri-containerd-*.scope"]
labels = { "io.kubernetes.pod.namespace" = "acme", "team" = "*" }

[[tenant]]
name = "kube"
[tenant.match]
cgroups = ["kubepods.slice/**"]

[[tenant]]
name = "exact"
[tenant.match]
cgroups = ["machine.slice/libpod-0123.scope"]

[[tenant]]
name = "named"
[tenant.match]
names = ["web-?", "db-[0-9]"]

[[tenant]]
name = "catch-docker"
[tenant.match]
cgroups = ["system.slice/docker-*.scope"]
`

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("m.toml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatch(t *testing.T) {
	t.Parallel()
	p := mustParse(t, matchPolicy)
	pod := "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-ab12.scope"
	tests := []struct {
		name string
		c    Container
		want string
	}{
		{"cgroup and name", Container{Cgroup: "system.slice/docker-ab12.scope", Name: "acme-web"}, "acme"},
		{"leading slash ignored", Container{Cgroup: "/system.slice/docker-ab12.scope", Name: "acme-web"}, "acme"},
		{"first in file order wins", Container{Cgroup: "system.slice/docker-ab12.scope", Name: "other"}, "catch-docker"},
		{"name alone is not enough", Container{Cgroup: "user.slice/x.scope", Name: "acme-web"}, ""},
		{"unknown name never matches a names glob", Container{Cgroup: "system.slice/docker-ab12.scope"}, "catch-docker"},
		{"labels all match", Container{Cgroup: pod, Labels: map[string]string{"io.kubernetes.pod.namespace": "acme", "team": "x"}}, "acme-k8s"},
		{"one label missing", Container{Cgroup: pod, Labels: map[string]string{"io.kubernetes.pod.namespace": "acme"}}, "kube"},
		{"label value differs", Container{Cgroup: pod, Labels: map[string]string{"io.kubernetes.pod.namespace": "acmex", "team": "x"}}, "kube"},
		{"* does not cross /", Container{Cgroup: "kubepods.slice/a/cri-containerd-1.scope", Labels: map[string]string{"io.kubernetes.pod.namespace": "acme", "team": "x"}}, "kube"},
		{"** matches any depth", Container{Cgroup: "kubepods.slice/a/b/c/d/e.scope"}, "kube"},
		{"** needs one more element", Container{Cgroup: "kubepods.slice"}, ""},
		{"** needs a non-empty element", Container{Cgroup: "kubepods.slice/"}, ""},
		{"prefix must be a whole element", Container{Cgroup: "kubepods.slicex/a"}, ""},
		{"literal", Container{Cgroup: "machine.slice/libpod-0123.scope"}, "exact"},
		{"literal is not a prefix", Container{Cgroup: "machine.slice/libpod-0123.scope/sub"}, ""},
		{"name ?", Container{Cgroup: "x", Name: "web-1"}, "named"},
		{"name class", Container{Cgroup: "x", Name: "db-7"}, "named"},
		{"name class miss", Container{Cgroup: "x", Name: "db-x"}, ""},
		{"empty container", Container{}, ""},
	}
	for _, tt := range tests {
		got, reason := p.Match(tt.c)
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tt.want {
			t.Errorf("%s: Match(%+v) = %q (%s), want %q", tt.name, tt.c, name, reason, tt.want)
		}
		if reason == "" {
			t.Errorf("%s: no reason", tt.name)
		}
		if alt := p.TenantFor(tt.c); alt != got {
			t.Errorf("%s: TenantFor and Match disagree", tt.name)
		}
		if got != nil && got != &p.Tenants[indexOf(p, name)] {
			t.Errorf("%s: result does not point into p.Tenants", tt.name)
		}
	}
}

func indexOf(p *Policy, name string) int {
	for i := range p.Tenants {
		if p.Tenants[i].Name == name {
			return i
		}
	}
	return -1
}

func TestMatchReason(t *testing.T) {
	t.Parallel()
	p := mustParse(t, matchPolicy)
	_, why := p.Match(Container{Cgroup: "system.slice/docker-ab12.scope", Name: "acme-web"})
	if want := `cgroup system.slice/docker-ab12.scope matches tenant acme glob "system.slice/docker-*.scope"; name "acme-web" matches "acme-*"`; why != want {
		t.Errorf("got  %s\nwant %s", why, want)
	}
	_, why = p.Match(Container{Cgroup: "x", Name: "web-1"})
	if want := `tenant named: name "web-1" matches "web-?"`; why != want {
		t.Errorf("got  %s\nwant %s", why, want)
	}
	_, why = p.Match(Container{Cgroup: "kubepods.slice/a/b/cri-containerd-1.scope", Labels: map[string]string{"io.kubernetes.pod.namespace": "acme", "team": "t"}})
	if want := `cgroup kubepods.slice/a/b/cri-containerd-1.scope matches tenant acme-k8s glob "kubepods.slice/*/*/cri-containerd-*.scope"; label io.kubernetes.pod.namespace="acme"; label team="t"`; why != want {
		t.Errorf("got  %s\nwant %s", why, want)
	}
	ten, why := p.Match(Container{Cgroup: "user.slice/u.scope", Name: "db-x"})
	want := `cgroup "user.slice/u.scope" (name "db-x") matches no tenant: ` +
		`tenant acme: cgroup matches none of "system.slice/docker-*.scope"; ` +
		`tenant acme-k8s: cgroup matches none of "kubepods.slice/*/*/cri-containerd-*.scope"; ` +
		`tenant kube: cgroup matches none of "kubepods.slice/**"; ` +
		`tenant exact: cgroup matches none of "machine.slice/libpod-0123.scope"; ` +
		`tenant named: name "db-x" matches none of "web-?", "db-[0-9]"; ` +
		`tenant catch-docker: cgroup matches none of "system.slice/docker-*.scope"`
	if ten != nil || why != want {
		t.Errorf("got  %v %s\nwant %s", ten, why, want)
	}
	_, why = p.Match(Container{Cgroup: "kubepods.slice/a/b/cri-containerd-1.scope", Labels: map[string]string{"io.kubernetes.pod.namespace": "x"}})
	if !strings.Contains(why, "tenant kube") {
		t.Errorf("reason %s", why)
	}
	_, why = (&Policy{}).Match(Container{Cgroup: "a"})
	if why != `cgroup "a" matches no tenant: the policy has none` {
		t.Errorf("empty policy: %s", why)
	}
	_, why = p.Match(Container{Cgroup: "user.slice/u.scope", Labels: map[string]string{"io.kubernetes.pod.namespace": "acme"}})
	if !strings.Contains(why, "tenant named: container name is unknown") {
		t.Errorf("reason %s", why)
	}
}

// A Policy built by hand (no Load) still matches, and an empty Match takes
// nothing.
func TestMatchHandBuilt(t *testing.T) {
	t.Parallel()
	p := &Policy{Tenants: []Tenant{
		{Name: "empty"},
		{Name: "all", Match: Match{Cgroups: []string{"**"}}},
	}}
	if got := p.TenantFor(Container{Cgroup: "a/b"}); got == nil || got.Name != "all" {
		t.Errorf("got %v", got)
	}
	if got := p.TenantFor(Container{}); got != nil {
		t.Errorf("empty cgroup matched %v", got.Name)
	}
}

func TestTenantForDoesNotAllocate(t *testing.T) {
	p := mustParse(t, matchPolicy)
	cs := []Container{
		{Cgroup: "system.slice/docker-ab12.scope", Name: "acme-web"},
		{Cgroup: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-ab12.scope",
			Labels: map[string]string{"io.kubernetes.pod.namespace": "acme", "team": "x"}},
		{Cgroup: "user.slice/u.scope", Name: "db-x"},
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, c := range cs {
			p.TenantFor(c)
		}
	})
	if allocs != 0 {
		t.Errorf("TenantFor allocates %v times per run", allocs)
	}
}

func BenchmarkTenantFor(b *testing.B) {
	p := mustParse(b, matchPolicy)
	c := Container{Cgroup: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-ab12.scope",
		Labels: map[string]string{"io.kubernetes.pod.namespace": "acme", "team": "x"}}
	b.ReportAllocs()
	for b.Loop() {
		p.TenantFor(c)
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"**", "a", true},
		{"**", "a/b/c", true},
		{"**", "", false},
		{"a/**", "a/b", true},
		{"a/**", "a/b/c", true},
		{"a/**", "a", false},
		{"a/**", "a/", false},
		{"a/**", "ab/c", false},
		{"a/*/**", "a/b/c", true},
		{"a/*/**", "a/b", false},
		{"*.slice/**", "x.slice/y", true},
		{"*.slice/**", "x.scope/y", false},
		{"a/*", "a/b", true},
		{"a/*", "a/b/c", false},
		{"a/b", "a/b", true},
		{"a/b", "a/bc", false},
		{"docker-*.scope", "docker-ab.scope", true},
		{"docker-*.scope", "docker-.scope", true},
		{"docker-*.scope", "docker.scope", false},
		{"docker-*.scope", "docker-a/b.scope", false},
		{"a*b*c", "axbyc", true},
		{"a?c", "abc", true},
		{"[ab]x", "bx", true},
		{"*", "", true},
		{"*", "a/b", false},
		{"a/**", "a/b/", true},
	}
	for _, tt := range tests {
		if g := compileGlob(tt.pat); g.match(tt.s) != tt.want {
			t.Errorf("glob %q match %q = %v, want %v", tt.pat, tt.s, !tt.want, tt.want)
		}
	}
}
