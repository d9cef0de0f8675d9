package policies

import (
	"errors"
	"path"
	"strings"
)

// glob is a checked pattern split into its path elements, ready to match
// without allocating.
type glob struct {
	elems []elem
	below bool // a final "/**": one or more further elements
}

type elemKind uint8

const (
	elemLiteral elemKind = iota // no wildcard: ==
	elemStar                    // one "*" and nothing else special: prefix and suffix
	elemPattern                 // path.Match
)

// elem is one path element of a glob.
type elem struct {
	kind           elemKind
	pat            string
	prefix, suffix string
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// checkCgroupGlob returns why g is not a usable cgroup glob, or nil.
func checkCgroupGlob(g string) error {
	switch {
	case g == "":
		return errors.New("empty glob")
	case strings.HasPrefix(g, "/"):
		return errors.New("globs are relative to the cgroup root: drop the leading \"/\"")
	case g == "**":
		return nil
	}
	prefix := strings.TrimSuffix(g, "/**")
	if strings.Contains(prefix, "**") {
		return errors.New("\"**\" is only supported as the last element, as in \"kubepods.slice/**\"; use \"*\" for one element")
	}
	if strings.HasSuffix(prefix, "/") || strings.Contains(prefix, "//") {
		return errors.New("empty path element")
	}
	for _, e := range strings.Split(prefix, "/") {
		if _, err := path.Match(e, ""); err != nil {
			return errors.New("bad glob syntax (see Go's path.Match; a [class] cannot hold \"/\")")
		}
	}
	return nil
}

// checkNameGlob returns why g is not a usable container-name glob, or nil.
func checkNameGlob(g string) error {
	switch {
	case g == "":
		return errors.New("empty glob")
	case strings.Contains(g, "**"):
		return errors.New("\"**\" is not supported in name globs; \"*\" already matches any name without \"/\"")
	}
	if _, err := path.Match(g, ""); err != nil {
		return errors.New("bad glob syntax (see Go's path.Match)")
	}
	return nil
}

// compileGlob prepares a checked glob.
func compileGlob(g string) glob {
	if g == "**" {
		return glob{below: true}
	}
	prefix, below := strings.CutSuffix(g, "/**")
	parts := strings.Split(prefix, "/")
	gl := glob{elems: make([]elem, len(parts)), below: below}
	for i, p := range parts {
		e := elem{kind: elemPattern, pat: p}
		switch star := strings.IndexByte(p, '*'); {
		case !hasMeta(p):
			e.kind = elemLiteral
		case star >= 0 && !hasMeta(p[:star]) && !hasMeta(p[star+1:]):
			e.kind, e.prefix, e.suffix = elemStar, p[:star], p[star+1:]
		}
		gl.elems[i] = e
	}
	return gl
}

func (e *elem) match(s string) bool {
	switch e.kind {
	case elemLiteral:
		return s == e.pat
	case elemStar:
		return len(s) >= len(e.prefix)+len(e.suffix) && strings.HasPrefix(s, e.prefix) && strings.HasSuffix(s, e.suffix)
	}
	ok, _ := path.Match(e.pat, s)
	return ok
}

// match reports whether s matches, element by element; it does not allocate.
func (g *glob) match(s string) bool {
	rest, more := s, true
	for i := range g.elems {
		if !more {
			return false
		}
		part := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			part, rest = rest[:j], rest[j+1:]
		} else {
			rest, more = "", false
		}
		if !g.elems[i].match(part) {
			return false
		}
	}
	if g.below {
		return more && rest != ""
	}
	return !more
}
