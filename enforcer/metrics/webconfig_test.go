package metrics

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns the certificate's pool.
func selfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "quelld"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("quelld.crt", "CERTIFICATE", der)
	write("quelld.key", "EC PRIVATE KEY", kb)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TestWebConfigTLSAndBasicAuth serves with a node_exporter-style web
// config: HTTPS only, and only for the user with the right password.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pool := selfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "web-config.yml")
	// Relative paths are relative to the config file, as in node_exporter.
	yml := "tls_server_config:\n  cert_file: quelld.crt\n  key_file: quelld.key\nbasic_auth_users:\n  prometheus: " + string(hash) + "\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckWebConfig(cfg); err != nil {
		t.Fatalf("CheckWebConfig(valid) = %v", err)
	}
	reg, err := NewRegistry(fixedView, NewLoop(), 0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (Server{WebConfig: cfg}).ServeListener(ctx, l, reg) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener = %v after cancel", err)
		}
	}()
	url := "https://" + l.Addr().String() + "/metrics"
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(user, pass string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s as %q: %v", url, user, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"prometheus", "wrong", 401}, {"mallory", "s3cret", 401}, {"prometheus", "s3cret", 200}} {
		if got := get(c.user, c.pass); got != c.want {
			t.Errorf("GET as %q/%q = %d, want %d", c.user, c.pass, got, c.want)
		}
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + l.Addr().String() + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served metrics with TLS configured")
		}
	}
}

func TestCheckWebConfigRefusesBrokenFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, yml := range map[string]string{
		"unknown key":  "tls_server_confg:\n  cert_file: x\n",
		"missing cert": "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
		"not bcrypt":   "basic_auth_users:\n  prometheus: plaintext\n",
		"not yaml":     "{{{",
		"key, no cert": "tls_server_config:\n  key_file: nope.key\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
		if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		err := CheckWebConfig(p)
		if err == nil {
			t.Errorf("%s: CheckWebConfig = nil", name)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v does not name the file", name, err)
		}
	}
	if err := CheckWebConfig(filepath.Join(dir, "absent.yml")); err == nil {
		t.Error("a missing web config passed")
	}
	if err := CheckWebConfig(""); err != nil {
		t.Errorf("no web config: %v", err)
	}
}
