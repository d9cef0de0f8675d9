//go:build lab

package systemd_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	promrules "github.com/quell-dev/quell/deploy/prometheus"
	"github.com/quell-dev/quell/test/labkit"
)

const oomPolicy = `
[[tenant]]
name = "acme"
  [tenant.match]
  names = ["acme-*"]
  [tenant.container]
  memory = "32MiB"
  swap = "0"
`

const (
	promAddr      = "127.0.0.1:19090"
	promUser      = "prometheus"
	promPass      = "lab-s3cret"
	webConfigDir  = "/etc/quell/lab-web"
	quelldTOML    = "/etc/quell/quelld.toml"
	quelldMetrics = "127.0.0.1:9477"
)

// writeWebTLS writes a self-signed certificate for 127.0.0.1 (its own CA),
// its key and a web config with TLS and one basic-auth user into dir; it
// returns the certificate's path.
func writeWebTLS(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "quelld lab"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte(promPass), bcrypt.MinCost)
	must(t, err)
	must(t, os.MkdirAll(dir, 0o750))
	crt := filepath.Join(dir, "quelld.crt")
	must(t, os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "quelld.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "web-config.yml"), []byte("tls_server_config:\n  cert_file: quelld.crt\n  key_file: quelld.key\n"+
		"basic_auth_users:\n  "+promUser+": "+string(hash)+"\n"), 0o600))
	return crt
}

// startPrometheus runs Debian's prometheus with the shipped alert rules,
// scraping quelld over TLS with basic auth every second, and waits until
// it is ready.
func startPrometheus(t *testing.T, caFile string) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (Debian package prometheus; bin/lab prereqs installs it): %v", err)
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "quell.rules.yml")
	must(t, os.WriteFile(rules, promrules.Rules, 0o644))
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: quelld
    scheme: https
    tls_config: {ca_file: %q}
    basic_auth: {username: %q, password: %q}
    static_configs: [{targets: [%q]}]
`, rules, caFile, promUser, promPass, quelldMetrics)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	must(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	must(t, err)
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log tail:\n%s", tail(string(b), 3000))
		}
	})
	start := time.Now()
	if !waitFor(90*time.Second, func() bool {
		resp, err := http.Get("http://" + promAddr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatalf("prometheus not ready after 90 s")
	}
	t.Logf("FIGURE prometheus ready in the lab after %.1f s", time.Since(start).Seconds())
}

// promGet GETs a Prometheus API path and decodes its data.
func promGet(t *testing.T, path string, q url.Values, data any) error {
	t.Helper()
	resp, err := http.Get("http://" + promAddr + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s", path, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// promValue is the value of an instant query's first sample, "" when empty.
func promValue(t *testing.T, query string) string {
	t.Helper()
	var d struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := promGet(t, "/api/v1/query", url.Values{"query": {query}}, &d); err != nil || len(d.Result) == 0 {
		return ""
	}
	s, _ := d.Result[0].Value[1].(string)
	return s
}

type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
	Value  string            `json:"value"`
}

func promAlerts(t *testing.T) []promAlert {
	t.Helper()
	var d struct {
		Alerts []promAlert `json:"alerts"`
	}
	if err := promGet(t, "/api/v1/alerts", url.Values{}, &d); err != nil {
		t.Logf("alerts: %v", err)
	}
	return d.Alerts
}

// TestPrometheusScrapesQuelldAndAlertFiresOnOOMKill: the fleet's view in
// the lab. quelld.service serves its metrics over TLS with basic auth
// (metrics_web_config, the exporter-toolkit web config); Debian's real
// Prometheus scrapes it with the shipped alert rules; a container of
// tenant acme whose process outgrows the 32 MiB quelld gave it is
// OOM-killed by the kernel, and QuellContainerOOMKilled fires for it,
// naming the container.
func TestPrometheusScrapesQuelldAndAlertFiresOnOOMKill(t *testing.T) {
	caFile := writeWebTLS(t, webConfigDir)
	must(t, os.WriteFile(quelldTOML, []byte(fmt.Sprintf("metrics_addr = %q\nmetrics_web_config = %q\n",
		quelldMetrics, filepath.Join(webConfigDir, "web-config.yml"))), 0o644))
	t.Cleanup(func() { _ = os.Remove(quelldTOML); _ = os.RemoveAll(webConfigDir) })
	installQuelld(t, oomPolicy)

	// Without the password there is nothing to read.
	pool := x509.NewCertPool()
	b, err := os.ReadFile(caFile)
	must(t, err)
	pool.AppendCertsFromPEM(b)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + quelldMetrics + "/metrics")
	if err != nil {
		t.Fatalf("GET https://%s/metrics: %v", quelldMetrics, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated scrape: %d, want 401", resp.StatusCode)
	}

	startPrometheus(t, caFile)
	if !waitFor(60*time.Second, func() bool { return promValue(t, `up{job="quelld"}`) == "1" }) {
		t.Fatalf(`up{job="quelld"} never 1: Prometheus cannot scrape quelld over TLS with basic auth (last %q)`, promValue(t, `up{job="quelld"}`))
	}
	if v := promValue(t, `quell_build_info`); v != "1" {
		t.Errorf("quell_build_info = %q through Prometheus, want 1", v)
	}

	c := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "acme-oom",
		Args: []string{"sh", "-c", "while [ ! -e /root/go ]; do sleep 0.2; done; tail /dev/zero; sleep 3600"}})
	cg := strings.TrimPrefix(c.Cgroup, "/")
	waitCgroup(t, cg, "memory.max", "33554432", 30*time.Second)
	waitCgroup(t, cg, "memory.swap.max", "0", 30*time.Second)
	id := c.ID[:12]
	sel := fmt.Sprintf(`quell_container_oom_kills_total{container=%q}`, id)
	if !waitFor(30*time.Second, func() bool { return promValue(t, sel) == "0" }) {
		t.Fatalf("%s never scraped as 0 before the hog (last %q)", sel, promValue(t, sel))
	}
	for _, a := range promAlerts(t) {
		if a.State == "firing" && a.Labels["alertname"] != "QuellTenantAtMemoryLimit" {
			t.Errorf("alert %s already firing before the event: %v", a.Labels["alertname"], a.Labels)
		}
	}

	hog := time.Now()
	must(t, os.WriteFile(filepath.Join(c.Bundle, "rootfs", "root", "go"), nil, 0o644))
	var kills string
	if !waitFor(60*time.Second, func() bool { kills = readMemEvent(t, cg, "oom_kill"); return kills != "" && kills != "0" }) {
		t.Fatalf("no OOM kill in %s after 60 s (memory.events oom_kill %q, memory.current %s)", cg, kills, readCgroup(t, cg, "memory.current"))
	}
	killed := time.Since(hog)
	var fired *promAlert
	if !waitFor(60*time.Second, func() bool {
		for _, a := range promAlerts(t) {
			if a.Labels["alertname"] == "QuellContainerOOMKilled" && a.State == "firing" {
				fired = &a
				return true
			}
		}
		return false
	}) {
		t.Fatalf("QuellContainerOOMKilled not firing 60 s after the kernel's OOM kill (oom_kill %s); %s = %q; alerts %+v",
			kills, sel, promValue(t, sel), promAlerts(t))
	}
	if fired.Labels["container"] != id || fired.Labels["name"] != "acme-oom" || fired.Labels["tenant"] != "acme" || fired.Labels["severity"] != "warning" {
		t.Errorf("alert labels %v, want container %s, name acme-oom, tenant acme, severity warning", fired.Labels, id)
	}
	if v := promValue(t, `quell_tenant_oom_kills_total{tenant="acme"}`); v == "" || v == "0" {
		t.Errorf(`quell_tenant_oom_kills_total{tenant="acme"} = %q after the OOM kill`, v)
	}
	t.Logf("FIGURE prometheus e2e: OOM kill %.1f s after the hog started, QuellContainerOOMKilled firing %.1f s after the hog (scrape and evaluation every 1 s)",
		killed.Seconds(), time.Since(hog).Seconds())
}

// readMemEvent reads one key of cg's memory.events, "" when unreadable.
func readMemEvent(t *testing.T, cg, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgroupRoot, cg, "memory.events"))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
