package systemd

import (
	"log/slog"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

func TestJournalHandlerSendsAttrsAsFields(t *testing.T) {
	t.Parallel()
	var gotMsg string
	var gotPri journal.Priority
	var got map[string]string
	h := NewJournalHandler(slog.LevelInfo)
	h.send = func(msg string, p journal.Priority, vars map[string]string) error {
		gotMsg, gotPri, got = msg, p, vars
		return nil
	}
	log := slog.New(h).With("tenant", "acme")
	log.Debug("hidden")
	if got != nil {
		t.Fatal("debug record sent at info level")
	}
	log.Warn("throttled", "container", "ab12", "rule", "cpu-contention", "_secret", 1, "a.b-c", "x")
	if gotMsg != "throttled" || gotPri != journal.PriWarning {
		t.Fatalf("msg %q pri %v", gotMsg, gotPri)
	}
	want := map[string]string{"TENANT": "acme", "CONTAINER": "ab12", "RULE": "cpu-contention", "Q_SECRET": "1", "A_B_C": "x", "SYSLOG_IDENTIFIER": "quelld"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
