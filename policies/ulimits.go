package policies

import (
	"strconv"
	"strings"
	"time"
)

// Ulimits are per-process resource limits (setrlimit) quelld applies live
// to every process of a container with prlimit(2); nil means "not set".
// Each value sets the soft and the hard limit. They are per container only
// ([tenant.container] ulimits): an rlimit is a per-process counter, there
// is no tenant-wide total.
type Ulimits struct {
	NoFile *uint64 // RLIMIT_NOFILE, open files; at least 1
	NProc  *uint64 // RLIMIT_NPROC, processes of the same user (the kernel counts them per user, not per container); at least 1
	CPU    *uint64 // RLIMIT_CPU, CPU seconds per process; at least 1
	Core   *uint64 // RLIMIT_CORE, bytes of a core dump; 0 = no core dumps
}

var ulimitKeys = []string{"nofile", "nproc", "cpu", "core"}

// ulimits decodes [tenant.container] ulimits. cpu takes a Go duration of
// whole seconds ("10m") or an integer number of seconds (as `ulimit -t`);
// core takes a size ("64MiB") or an integer of bytes, 0 allowed.
func (d *decoder) ulimits(t *tbl) *Ulimits {
	var u Ulimits
	count := func(key string) *uint64 {
		v, ok := t.integer(key)
		if !ok {
			return nil
		}
		if v < 1 {
			t.fail(key, "%d must be at least 1 (leave %s out for no limit)", v, key)
			return nil
		}
		n := uint64(v)
		return &n
	}
	u.NoFile = count("nofile")
	u.NProc = count("nproc")
	if v, ok := t.get("cpu"); ok {
		switch v := v.(type) {
		case int64:
			if v < 1 {
				t.fail("cpu", "%d must be at least 1 second (leave cpu out for no limit)", v)
			} else {
				n := uint64(v)
				u.CPU = &n
				t.shown["cpu"] = strconv.FormatInt(v, 10)
			}
		case string:
			dur, err := time.ParseDuration(v)
			switch {
			case err != nil:
				t.fail("cpu", "bad duration %q (use a Go duration such as \"10m\", or an integer of seconds)", v)
			case dur < time.Second:
				t.fail("cpu", "%q is below 1s, the smallest CPU time limit", v)
			case dur%time.Second != 0:
				t.fail("cpu", "%q is not a whole number of seconds (RLIMIT_CPU counts seconds)", v)
			default:
				n := uint64(dur / time.Second)
				u.CPU = &n
				t.shown["cpu"] = v
			}
		default:
			t.fail("cpu", "want a duration such as \"10m\" or an integer of seconds, got %s", describe(v))
		}
	}
	if v, ok := t.size("core"); ok {
		n := uint64(v)
		u.Core = &n
	}
	if len(t.m) == 0 {
		name := strings.TrimSuffix(t.prefix, ".")
		d.errAt(t.path, name, name+" sets no limit (give nofile, nproc, cpu or core)")
	}
	t.finish(ulimitKeys)
	return &u
}
