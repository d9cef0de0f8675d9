package cli

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
)

// A quelld that refuses the caller (403: not in group quell) is not
// "quelld not running": read-only commands fail with exit 1 and say what
// to do, rather than showing a cgroupfs view that claims quelld is down.
func TestReadRefusedByQuelldFailsWithHint(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "q.sock")
	l, err := api.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- api.NewServer(fixtureSource(), api.Options{Version: "0.9.0", PollInterval: 10 * time.Millisecond,
			PeerCreds:  func(net.Conn) (api.Creds, error) { return api.Creds{UID: 1234, GID: 1234}, nil },
			Authorizer: &api.Authorizer{Group: "quell", GroupID: func() (uint32, bool) { return 999, true }}}).Serve(ctx, l)
	}()
	t.Cleanup(func() { cancel(); <-done })
	localCalled := false
	local := func(context.Context) (api.Source, error) { localCalled = true; return fixtureSource(), nil }
	r := run(t, nil, Options{Local: local}, "status", "--socket", path)
	if r.code != ExitFailure || localCalled {
		t.Errorf("status refused by quelld: exit %d, local fallback %v; want exit %d, no fallback\n%s%s", r.code, localCalled, ExitFailure, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "not in group quell") {
		t.Errorf("stderr does not say why (not in group quell):\n%s", r.stderr)
	}
}
