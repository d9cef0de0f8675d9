package systemd

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// JournalHandler is a slog.Handler that sends each record to journald
// natively, every attribute as its own field (TENANT=acme,
// CONTAINER=…, RULE=…, KIND=throttle), so `journalctl -u quelld
// TENANT=acme` finds a tenant's story. Field names are upper-cased and
// anything outside [A-Z0-9_] becomes "_"; a leading "_" (reserved for
// journald's trusted fields) gets the prefix "Q".
type JournalHandler struct {
	level slog.Leveler
	attrs []slog.Attr
	group string
	send  func(msg string, p journal.Priority, vars map[string]string) error
}

// JournalEnabled reports whether stderr goes to journald (JOURNAL_STREAM
// set by systemd) and the journal socket is there, i.e. whether
// NewJournalHandler is worth using.
func JournalEnabled() bool {
	ok, _ := journal.StderrIsJournalStream()
	return ok && journal.Enabled()
}

// NewJournalHandler returns a handler logging at level and above.
func NewJournalHandler(level slog.Leveler) *JournalHandler {
	return &JournalHandler{level: level, send: journal.Send}
}

// Enabled implements slog.Handler.
func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": "quelld"}
	add := func(a slog.Attr) {
		k := a.Key
		if h.group != "" {
			k = h.group + "_" + k
		}
		vars[fieldName(k)] = a.Value.Resolve().String()
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	return h.send(r.Message, priority(r.Level), vars)
}

// WithAttrs implements slog.Handler.
func (h *JournalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

// WithGroup implements slog.Handler.
func (h *JournalHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "_" + name
	}
	c.group = name
	return &c
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}

func fieldName(k string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(k) {
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] == '_' || s[0] >= '0' && s[0] <= '9' {
		s = "Q" + s
	}
	return s
}

var _ slog.Handler = (*JournalHandler)(nil)

// String names the handler in logs.
func (h *JournalHandler) String() string { return fmt.Sprintf("journald(level=%s)", h.level.Level()) }
