package policies

import (
	"strings"
	"testing"
)

const trustPolicy = `
[[tenant]]
name = "payments"
class = "guaranteed"
  [tenant.match]
  trusted_labels = { "io.kubernetes.pod.namespace" = "payments" }

[[tenant]]
name = "plain"
class = "guaranteed"
  [tenant.match]
  cgroups = ["kubepods.slice/**"]
  labels = { "io.kubernetes.pod.namespace" = "shop" }

[[tenant]]
name = "sliced"
class = "guaranteed"
  [tenant.match]
  cgroups = ["quell.slice/quell-sliced.slice/**"]
`

func TestTrustedLabelsMatchOnlyTheRuntimesLabels(t *testing.T) {
	t.Parallel()
	p, err := Parse("t.toml", []byte(trustPolicy), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := map[string]string{"io.kubernetes.pod.namespace": "payments"}
	supplied := Container{Cgroup: "kubepods.slice/x/cri-containerd-1.scope", Labels: ns}
	if got := p.TenantFor(supplied); got != nil {
		t.Errorf("a supplied label took tenant %s", got.Name)
	}
	_, why := p.Match(supplied)
	if !strings.Contains(why, `trusted label "io.kubernetes.pod.namespace" is missing`) ||
		!strings.Contains(why, "supplied by the container's creator does not count") {
		t.Errorf("Match reason = %q", why)
	}
	trusted := supplied
	trusted.TrustedLabels = ns
	got, why := p.Match(trusted)
	if got == nil || got.Name != "payments" || !strings.Contains(why, "trusted label io.kubernetes.pod.namespace=\"payments\"") {
		t.Errorf("Match(trusted) = %v, %q", got, why)
	}
}

func TestWarningsNameTenantsJoinableByNameOrLabel(t *testing.T) {
	t.Parallel()
	p, err := Parse("t.toml", []byte(trustPolicy), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, w := range p.Warnings() {
		msgs = append(msgs, w.Error())
	}
	all := strings.Join(msgs, "\n")
	if len(msgs) != 2 || !strings.Contains(all, `t.toml:8:1: tenant "plain": guaranteed tenant can be joined by name or label`) ||
		!strings.Contains(all, `tenant "plain": labels "io.kubernetes.pod.namespace" is also satisfied`) {
		t.Errorf("Warnings:\n%s", all)
	}
	if strings.Contains(all, `"payments"`) || strings.Contains(all, `"sliced"`) {
		t.Errorf("a tenant matched by trusted labels or cgroups alone was warned about:\n%s", all)
	}
}

func TestTrustedLabelsDecodeErrors(t *testing.T) {
	t.Parallel()
	_, err := Parse("t.toml", []byte("[[tenant]]\nname = \"a\"\n  [tenant.match]\n  trusted_labels = { \"\" = \"x\", k = 3 }\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "t.toml:4") {
		t.Fatalf("err = %v", err)
	}
}
