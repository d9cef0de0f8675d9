package policies

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// decoder walks the generic TOML tree of one file. It checks every type
// itself instead of letting toml.Decode fill structs, so that it can report
// every problem at once, each with the position of its own array element
// (toml.MetaData.Undecoded names "tenant.limits.foo" without saying which
// tenant; here a key is unknown exactly when no decoder asked for it).
type decoder struct {
	file  string
	opts  Options
	pos   positions
	owner string // `tenant "acme"` while decoding a tenant
	errs  Errors
}

// tbl is one TOML table being decoded.
type tbl struct {
	d      *decoder
	path   []string // position path, see positions
	prefix string   // how the user names this table below its owner: "", "limits.", "limits.io[0]."
	m      map[string]any
	used   map[string]bool
	shown  map[string]string // values as written, for messages
}

func (d *decoder) table(path []string, prefix string, m map[string]any) *tbl {
	return &tbl{d: d, path: path, prefix: prefix, m: m, used: map[string]bool{}, shown: map[string]string{}}
}

// errAt records a problem at path with a complete message.
func (d *decoder) errAt(path []string, key, msg string) {
	p := d.pos.at(path)
	d.errs = append(d.errs, &Error{File: d.file, Line: p.Line, Col: p.Col, Key: key, Owner: d.owner, Msg: msg})
}

// fail records "prefix.key: msg" at key.
func (t *tbl) fail(key, format string, args ...any) {
	k := t.prefix + keyName(key)
	t.d.errAt(join(t.path, key), k, k+": "+fmt.Sprintf(format, args...))
}

// failMsg records a complete message at key.
func (t *tbl) failMsg(key, format string, args ...any) {
	t.d.errAt(join(t.path, key), t.prefix+keyName(key), fmt.Sprintf(format, args...))
}

// keyName writes a key as TOML would need it: quoted unless bare.
func keyName(k string) string {
	for i := 0; i < len(k); i++ {
		if !isBare(k[i]) {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

func (t *tbl) has(key string) bool { _, ok := t.m[key]; return ok }

func (t *tbl) get(key string) (any, bool) {
	v, ok := t.m[key]
	if ok {
		t.used[key] = true
	}
	return v, ok
}

func (t *tbl) pos() Pos { return t.d.pos.at(t.path) }

// finish reports every key nobody asked for, in file order.
func (t *tbl) finish(known []string) {
	var unknown []string
	for k := range t.m {
		if !t.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Slice(unknown, func(i, j int) bool {
		a, b := t.d.pos.at(join(t.path, unknown[i])), t.d.pos.at(join(t.path, unknown[j]))
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return unknown[i] < unknown[j]
	})
	for _, k := range unknown {
		msg := "unknown key " + strconv.Quote(t.prefix+keyName(k))
		if s := suggest(k, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", t.prefix+s)
		}
		t.failMsg(k, "%s", msg)
	}
}

// elemFail records a problem with element i of the array at key.
func (t *tbl) elemFail(key string, i int, format string, args ...any) {
	t.d.errAt(join(t.path, key, strconv.Itoa(i)), t.prefix+key,
		fmt.Sprintf("%s%s[%d]: ", t.prefix, key, i)+fmt.Sprintf(format, args...))
}

// suggest returns the known key closest to k when it is a plausible typo.
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD > 2 || (bestD == 2 && len(k) < 5) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// nameOK reports whether s is a valid tenant, rule or detector name.
func nameOK(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' && i > 0) {
			continue
		}
		return false
	}
	return true
}

// name reads the required name key and sets the decoder's owner for the
// messages that follow: `kind "name"`, or `kind #n` without a good name.
func (t *tbl) name(kind string, n int) (string, bool) {
	t.d.owner = fmt.Sprintf("%s #%d", kind, n+1)
	if !t.has("name") {
		t.d.errAt(t.path, "name", "name is missing")
		t.used["name"] = true
		return "", false
	}
	s, ok := t.str("name")
	if !ok {
		return "", false
	}
	if !nameOK(s) {
		t.fail("name", "%q is not a valid name (lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters)", s)
		return "", false
	}
	t.d.owner = fmt.Sprintf("%s %q", kind, s)
	return s, true
}

// classes reads an array of class names.
func (t *tbl) classes(key string) []Class {
	l, ok := t.strs(key)
	if !ok {
		return nil
	}
	var out []Class
	for i, s := range l {
		c, ok := parseClass(s)
		if !ok {
			t.elemFail(key, i, "unknown class %q (use guaranteed, burstable or best-effort)", s)
			continue
		}
		out = append(out, c)
	}
	return out
}

func parseClass(s string) (Class, bool) {
	switch c := Class(s); c {
	case Guaranteed, Burstable, BestEffort:
		return c, true
	}
	return "", false
}

// action reads a penalty action.
func (t *tbl) action(key string) (string, bool) {
	s, ok := t.str(key)
	if !ok {
		return "", false
	}
	switch s {
	case ActionThrottle, ActionFreeze, ActionEvict:
		return s, true
	}
	t.fail(key, "unknown action %q (use throttle, freeze or evict)", s)
	return "", false
}

// join keys for lists in messages
func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
