package metrics

import (
	"strings"
	"time"
)

// shortID returns the first 12 characters of a 64-hex runtime ID, and any
// other ID (a cgroup's base name) whole, so that distinct IDs stay distinct.
func shortID(id string) string {
	if len(id) == 64 && strings.Trim(id, "0123456789abcdef") == "" {
		return id[:12]
	}
	return id
}

// splitPSISignal splits "host.cpu.some.avg10" into ("cpu", "some", "avg10").
func splitPSISignal(name string) (resource, kind, window string, ok bool) {
	p := strings.Split(name, ".")
	if len(p) != 4 || p[0] != "host" || p[1] == "" {
		return "", "", "", false
	}
	if p[2] != "some" && p[2] != "full" {
		return "", "", "", false
	}
	switch p[3] {
	case "recent", "avg1", "avg10", "avg60", "avg300":
		return p[1], p[2], p[3], true
	}
	return "", "", "", false
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
