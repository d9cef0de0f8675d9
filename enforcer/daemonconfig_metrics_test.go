package enforcer

import (
	"os"
	"path/filepath"
	"testing"
)

// The metrics keys of quelld.toml: the web config file for TLS and basic
// auth, and the cap on containers with per-container series.
func TestDaemonConfigMetricsKeys(t *testing.T) {
	t.Parallel()
	if d := DefaultDaemonConfig(); d.MetricsWebConfig != "" || d.MetricsMaxContainers != 1000 || d.MetricsAddr != "127.0.0.1:9477" {
		t.Errorf("defaults: web config %q, max containers %d, addr %q", d.MetricsWebConfig, d.MetricsMaxContainers, d.MetricsAddr)
	}
	p := filepath.Join(t.TempDir(), "quelld.toml")
	if err := os.WriteFile(p, []byte("metrics_addr = \":9477\"\nmetrics_web_config = \"/etc/quell/web-config.yml\"\nmetrics_max_containers = 250\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDaemonConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != ":9477" || c.MetricsWebConfig != "/etc/quell/web-config.yml" || c.MetricsMaxContainers != 250 {
		t.Errorf("loaded: addr %q, web config %q, max containers %d", c.MetricsAddr, c.MetricsWebConfig, c.MetricsMaxContainers)
	}
}
