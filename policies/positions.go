package policies

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// positions maps a key path to where it was written. A path is the dotted
// key with array elements as their index: the memory key of the second
// [[tenant]] is tenant/1/limits/memory, the device of the first io entry
// tenant/0/limits/io/0/device. Tables defined by a header map to the header.
//
// BurntSushi/toml keeps positions only per dotted key without array
// indexes (so every [[tenant]] shares one entry, the last), and does not
// export them; hence this scanner. It runs only on input the TOML parser has
// accepted, so it needs no error reporting of its own: on anything it does not
// understand it stops, and lookups fall back to the nearest known ancestor.
type positions map[string]Pos

func pathKey(path []string) string { return strings.Join(path, "\x1f") }

// at returns the position of path, else of its nearest recorded ancestor,
// else line 0.
func (ps positions) at(path []string) Pos {
	for n := len(path); n > 0; n-- {
		if p, ok := ps[pathKey(path[:n])]; ok {
			return p
		}
	}
	return Pos{}
}

func join(path []string, more ...string) []string {
	out := make([]string, 0, len(path)+len(more))
	return append(append(out, path...), more...)
}

type posScanner struct {
	file  string
	src   string
	i     int
	line  int
	col   int // bytes, like the TOML parser's and Go's own columns
	stop  bool
	depth int
	ps    positions
	aot   map[string]int // array-of-tables path → number of elements so far
}

// scanPositions records the position of every key, table header and array
// element of src.
func scanPositions(file, src string) positions {
	s := &posScanner{file: file, src: src, line: 1, col: 1, ps: positions{}, aot: map[string]int{}}
	if strings.HasPrefix(src, "\ufeff") {
		s.i = len("\ufeff")
	}
	var table []string
	for !s.stop {
		s.skipSpace(true)
		if s.eof() {
			break
		}
		start := s.i
		if s.src[s.i] == '[' {
			p := s.here()
			array := s.peek(1) == '['
			s.adv()
			if array {
				s.adv()
			}
			keys, _ := s.key()
			if s.stop {
				break
			}
			table = s.header(keys, array, p)
			s.skipSpace(false)
			for n := 0; n < 2 && s.peek(0) == ']'; n++ {
				s.adv()
			}
		} else {
			s.keyValue(table)
		}
		if s.i == start {
			break
		}
	}
	return s.ps
}

func (s *posScanner) eof() bool { return s.stop || s.i >= len(s.src) }

func (s *posScanner) peek(n int) byte {
	if s.i+n < len(s.src) {
		return s.src[s.i+n]
	}
	return 0
}

func (s *posScanner) here() Pos { return Pos{File: s.file, Line: s.line, Col: s.col} }

func (s *posScanner) adv() {
	if s.i >= len(s.src) {
		s.stop = true
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	s.i++
}

func (s *posScanner) set(path []string, p Pos) {
	if k := pathKey(path); k != "" {
		if _, ok := s.ps[k]; !ok {
			s.ps[k] = p
		}
	}
}

// skipSpace skips blanks and comments, and newlines when nl is set.
func (s *posScanner) skipSpace(nl bool) {
	for !s.eof() {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t':
			s.adv()
		case nl && (c == '\n' || c == '\r'):
			s.adv()
		case c == '#':
			for !s.eof() && s.src[s.i] != '\n' {
				s.adv()
			}
		default:
			return
		}
	}
}

// header resolves a [table] or [[array]] header to a path, counting array
// elements, and records it.
func (s *posScanner) header(keys []string, array bool, p Pos) []string {
	var path []string
	for j, k := range keys {
		path = append(path, k)
		pk := pathKey(path)
		last := j == len(keys)-1
		switch n, isArray := s.aot[pk]; {
		case last && array:
			s.aot[pk] = n + 1
			s.set(path, p)
			path = append(path, strconv.Itoa(n))
		case isArray:
			path = append(path, strconv.Itoa(n-1))
		}
		s.set(path, p)
	}
	return path
}

// keyValue scans "key = value" below table.
func (s *posScanner) keyValue(table []string) {
	keys, p := s.key()
	if s.stop || len(keys) == 0 {
		s.stop = true
		return
	}
	s.skipSpace(false)
	if s.peek(0) != '=' {
		s.stop = true
		return
	}
	s.adv()
	s.skipSpace(false)
	path := join(table, keys...)
	for n := len(table) + 1; n <= len(path); n++ {
		s.set(path[:n], p)
	}
	s.value(path)
}

// key scans a possibly dotted, possibly quoted key.
func (s *posScanner) key() ([]string, Pos) {
	var keys []string
	s.skipSpace(false)
	p := s.here()
	for !s.eof() {
		var k string
		switch c := s.src[s.i]; {
		case c == '"':
			k = unescapeBasic(s.quoted('"'))
		case c == '\'':
			k = s.quoted('\'')
		case isBare(c):
			st := s.i
			for !s.eof() && isBare(s.src[s.i]) {
				s.adv()
			}
			k = s.src[st:s.i]
		default:
			s.stop = true
			return keys, p
		}
		keys = append(keys, k)
		s.skipSpace(false)
		if s.peek(0) != '.' {
			break
		}
		s.adv()
		s.skipSpace(false)
	}
	return keys, p
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoted scans a one-line string starting at its opening quote and returns
// its raw content.
func (s *posScanner) quoted(q byte) string {
	s.adv()
	st := s.i
	for !s.eof() {
		c := s.src[s.i]
		if c == q {
			raw := s.src[st:s.i]
			s.adv()
			return raw
		}
		if c == '\n' {
			break
		}
		if c == '\\' && q == '"' {
			s.adv()
		}
		s.adv()
	}
	s.stop = true
	return ""
}

// value scans any value, recording the keys of inline tables and the
// elements of arrays below path.
func (s *posScanner) value(path []string) {
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > 100 || s.eof() {
		s.stop = true
		return
	}
	switch c := s.src[s.i]; c {
	case '"', '\'':
		if s.peek(1) == c && s.peek(2) == c {
			s.multiline(c)
		} else {
			s.quoted(c)
		}
	case '[':
		s.adv()
		for n := 0; !s.eof(); n++ {
			s.skipSpace(true)
			if s.peek(0) == ']' {
				s.adv()
				return
			}
			elem := join(path, strconv.Itoa(n))
			s.set(elem, s.here())
			s.value(elem)
			s.skipSpace(true)
			switch s.peek(0) {
			case ',':
				s.adv()
			case ']':
			default:
				s.stop = true
			}
		}
	case '{':
		s.adv()
		for !s.eof() {
			s.skipSpace(true)
			if s.peek(0) == '}' {
				s.adv()
				return
			}
			s.keyValue(path)
			s.skipSpace(true)
			switch s.peek(0) {
			case ',':
				s.adv()
			case '}':
			default:
				s.stop = true
			}
		}
	default:
		st := s.i
		for !s.eof() && !strings.ContainsRune(",]}#\r\n", rune(s.src[s.i])) {
			s.adv()
		}
		if s.i == st {
			s.stop = true
		}
	}
}

// multiline skips a multi-line string (triple quotes), including up to two extra closing
// quotes that belong to its content.
func (s *posScanner) multiline(q byte) {
	s.adv()
	s.adv()
	s.adv()
	for !s.eof() {
		c := s.src[s.i]
		if c == '\\' && q == '"' {
			s.adv()
			s.adv()
			continue
		}
		if c == q && s.peek(1) == q && s.peek(2) == q {
			s.adv()
			s.adv()
			s.adv()
			for n := 0; n < 2 && s.peek(0) == q; n++ {
				s.adv()
			}
			return
		}
		s.adv()
	}
}

// unescapeBasic resolves the escapes of a TOML basic string; the input has
// been accepted by the TOML parser, so unknown escapes are kept as they are.
func unescapeBasic(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := raw[i]; e {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case '"', '\\':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+1+n <= len(raw) {
				if v, err := strconv.ParseUint(raw[i+1:i+1+n], 16, 32); err == nil {
					b.WriteRune(rune(v))
					i += n
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	if !utf8.ValidString(b.String()) {
		return raw
	}
	return b.String()
}
