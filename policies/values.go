package policies

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// The typed getters below mark the key as read, report a wrong type or a bad
// value at the key's position, and return ok only for a usable value.

// describe names a TOML value's type for messages.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case time.Time:
		return "date/time"
	case map[string]any:
		return "table"
	case []map[string]any, []any:
		return "array"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func (t *tbl) str(key string) (string, bool) {
	v, ok := t.get(key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		t.fail(key, "want a string, got %s", describe(v))
		return "", false
	}
	t.shown[key] = strconv.Quote(s)
	return s, true
}

// num reads an integer or a float as a finite float64.
func (t *tbl) num(key string) (float64, bool) {
	v, ok := t.get(key)
	if !ok {
		return 0, false
	}
	var f float64
	switch v := v.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	default:
		t.fail(key, "want a number, got %s", describe(v))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		t.fail(key, "want a finite number, got %v", f)
		return 0, false
	}
	t.shown[key] = strconv.FormatFloat(f, 'g', -1, 64)
	return f, true
}

func (t *tbl) integer(key string) (int64, bool) {
	v, ok := t.get(key)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		t.fail(key, "want an integer, got %s", describe(v))
		return 0, false
	}
	t.shown[key] = strconv.FormatInt(n, 10)
	return n, true
}

func (t *tbl) boolean(key string) (bool, bool) {
	v, ok := t.get(key)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		t.fail(key, "want true or false, got %s", describe(v))
		return false, false
	}
	return b, true
}

// size reads a size in bytes: a non-negative integer or a ParseSize string.
func (t *tbl) size(key string) (int64, bool) {
	v, ok := t.get(key)
	if !ok {
		return 0, false
	}
	switch v := v.(type) {
	case int64:
		if v < 0 {
			t.fail(key, "size %d is negative", v)
			return 0, false
		}
		t.shown[key] = strconv.FormatInt(v, 10)
		return v, true
	case string:
		n, err := ParseSize(v)
		if err != nil {
			t.fail(key, "%v", err)
			return 0, false
		}
		t.shown[key] = v
		return n, true
	default:
		t.fail(key, "want a size such as \"4GiB\" or a number of bytes, got %s", describe(v))
		return 0, false
	}
}

// byteRate reads a rate in bytes/s: a non-negative integer or a ParseRate string.
func (t *tbl) byteRate(key string) (uint64, bool) {
	v, ok := t.get(key)
	if !ok {
		return 0, false
	}
	switch v := v.(type) {
	case int64:
		if v < 0 {
			t.fail(key, "rate %d is negative", v)
			return 0, false
		}
		t.shown[key] = strconv.FormatInt(v, 10)
		return uint64(v), true
	case string:
		bits, err := ParseRate(v)
		if err != nil {
			t.fail(key, "%v", err)
			return 0, false
		}
		t.shown[key] = v
		return bits / 8, true
	default:
		t.fail(key, "want a rate such as \"200MB\" or a number of bytes/s, got %s", describe(v))
		return 0, false
	}
}

// bitRate reads a rate in bits/s from a ParseRate string; bare numbers are
// refused because bits and bytes are too easily confused.
func (t *tbl) bitRate(key string) (uint64, bool) {
	v, ok := t.get(key)
	if !ok {
		return 0, false
	}
	s, ok := v.(string)
	if !ok {
		t.fail(key, "want a rate with a unit such as \"100Mbit\" or \"10MB\", got %s", describe(v))
		return 0, false
	}
	n, err := ParseRate(s)
	if err != nil {
		t.fail(key, "%v", err)
		return 0, false
	}
	t.shown[key] = s
	return n, true
}

// duration reads a non-negative Go duration string.
func (t *tbl) duration(key string) (time.Duration, bool) {
	v, ok := t.get(key)
	if !ok {
		return 0, false
	}
	s, ok := v.(string)
	if !ok {
		t.fail(key, "want a duration such as \"30s\", got %s", describe(v))
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.fail(key, "bad duration %q (use a Go duration such as \"30s\" or \"1m30s\")", s)
		return 0, false
	}
	if d < 0 {
		t.fail(key, "duration %q is negative", s)
		return 0, false
	}
	t.shown[key] = s
	return d, true
}

// list reads an array; each element is checked by the caller.
func (t *tbl) list(key string) ([]any, bool) {
	v, ok := t.get(key)
	if !ok {
		return nil, false
	}
	switch v := v.(type) {
	case []any:
		return v, true
	case []map[string]any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = v[i]
		}
		return out, true
	default:
		t.fail(key, "want an array, got %s", describe(v))
		return nil, false
	}
}

// strs reads an array of strings; an element of another type is reported at
// its own position and left out.
func (t *tbl) strs(key string) ([]string, bool) {
	l, ok := t.list(key)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for i, e := range l {
		s, isStr := e.(string)
		if !isStr {
			t.elemFail(key, i, "want a string, got %s", describe(e))
			continue
		}
		out = append(out, s)
	}
	return out, true
}

// sub reads a table.
func (t *tbl) sub(key string) (*tbl, bool) {
	v, ok := t.get(key)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.fail(key, "want a table, got %s", describe(v))
		return nil, false
	}
	return t.d.table(join(t.path, key), t.prefix+keyName(key)+".", m), true
}

// subs reads an array of tables; an element of another type is reported at
// its own position and left out.
func (t *tbl) subs(key string) ([]*tbl, bool) {
	l, ok := t.list(key)
	if !ok {
		return nil, false
	}
	out := make([]*tbl, 0, len(l))
	for i, e := range l {
		m, isMap := e.(map[string]any)
		if !isMap {
			t.elemFail(key, i, "want a table, got %s", describe(e))
			continue
		}
		out = append(out, t.d.table(join(t.path, key, strconv.Itoa(i)), fmt.Sprintf("%s%s[%d].", t.prefix, key, i), m))
	}
	return out, true
}
