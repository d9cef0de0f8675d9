package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quell-dev/quell/enforcer/view"
)

// hostileView adds containers whose names a hostile creator chose: invalid
// UTF-8, terminal escapes and newlines, 1 MiB, and two that escape to the
// same labels.
func hostileView() *view.View {
	v := fixedView()
	add := func(id, name string) {
		v.Containers = append(v.Containers, view.ContainerView{Container: view.Container{
			ID: id, Cgroup: "system.slice/" + id + ".scope", Runtime: "unknown", Name: name, Tenant: "ci", Class: "best-effort"}})
	}
	add("bad-utf8", "x\xff\xfe")
	add("escapes", "\x1b]0;pwned\x07\x1b[2J\nquell_tenant_memory_usage_bytes{tenant=\"acme\"} 99")
	add("huge", strings.Repeat("A", 1<<20))
	add("twin", "same")
	add("twin", "same")
	return v
}

func TestHostileLabelsNeverFailTheScrape(t *testing.T) {
	t.Parallel()
	reg, err := NewRegistry(hostileView, NewLoop(), 0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = (Server{}).ServeListener(ctx, l, reg) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s\n%.2000s", resp.Status, body)
	}
	for _, want := range []string{
		`quell_tenant_memory_usage_bytes{tenant="acme"} 5.36870912e+08`,
		`quell_container_info{cgroup="system.slice/bad-utf8.scope",class="best-effort",container="bad-utf8",name="x\\xff\\xfe",runtime="unknown",tenant="ci"} 1`,
		`name="\\x1b]0;pwned\\a\\x1b[2J\\nquell_tenant_memory_usage_bytes{tenant=\"acme\"} 99"`,
		`quell_metrics_series_dropped_total `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(body, "\x1b") || !utf8.ValidString(body) || strings.Contains(body, strings.Repeat("A", 200)) {
		t.Errorf("scrape carries ESC, invalid UTF-8 or a 1 MiB label")
	}
	if strings.Contains(body, "quell_metrics_series_dropped_total 0\n") {
		t.Errorf("the twin's repeated series were not counted as dropped")
	}
}
