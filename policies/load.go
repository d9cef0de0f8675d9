package policies

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

var topKeys = []string{"version", "tenant", "rule", "detector"}

// fileResult is one decoded file, before the files are merged.
type fileResult struct {
	policy  Policy
	namePos map[string][]Pos // "tenant"/"rule"/"detector" → position of each name key, by index
	refs    []tenantRef
	errs    Errors
}

// Load reads the policy from paths, each a file or a directory, and merges
// them in the order given; a directory contributes its *.toml files (not
// hidden ones, not subdirectories) in lexical order. A path given twice is
// read once. A missing path, an unreadable file, no paths at all, or any
// problem in any file makes Load return nil and an [Errors] listing every
// problem found; an empty directory is a valid, empty policy.
func Load(paths []string, opts Options) (*Policy, error) {
	if len(paths) == 0 {
		return nil, Errors{{Msg: "no policy files or directories given"}}
	}
	var errs Errors
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		if c := filepath.Clean(f); !seen[c] {
			seen[c] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, ioError(p, err))
			continue
		}
		if !st.IsDir() {
			add(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, ioError(p, err))
			continue
		}
		for _, e := range entries { // ReadDir sorts by name
			name := e.Name()
			if !strings.HasSuffix(name, ".toml") || strings.HasPrefix(name, ".") {
				continue
			}
			f := filepath.Join(p, name)
			if fst, err := os.Stat(f); err != nil {
				errs = append(errs, ioError(f, err))
			} else if fst.Mode().IsRegular() {
				add(f)
			}
		}
	}
	var results []*fileResult
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, ioError(f, err))
			continue
		}
		results = append(results, decodeFile(f, data, opts))
	}
	return merge(files, results, errs)
}

// Parse decodes one policy file held in memory; file names it in messages.
// It returns nil and an [Errors] listing every problem found, or the policy.
func Parse(file string, data []byte, opts Options) (*Policy, error) {
	return merge([]string{file}, []*fileResult{decodeFile(file, data, opts)}, nil)
}

// ioError is a path that could not be read: its Err is set, so that a
// caller can tell an unreadable policy from an invalid one.
func ioError(file string, err error) *Error {
	msg := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err
	}
	return &Error{File: file, Msg: msg.Error(), Err: err}
}

// decodeFile decodes one file and checks everything that needs only it.
func decodeFile(file string, data []byte, opts Options) *fileResult {
	r := &fileResult{namePos: map[string][]Pos{}}
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		r.errs = Errors{syntaxError(file, err)}
		return r
	}
	d := &decoder{file: file, opts: opts, pos: scanPositions(file, string(data))}
	top := d.table(nil, "", m)
	if v, ok := top.get("version"); ok {
		if n, isInt := v.(int64); !isInt || n != 1 {
			top.fail("version", "%s is not supported: this quell reads version 1", describe(v))
		}
	}
	for _, kind := range []string{"tenant", "rule", "detector"} {
		for i, t := range d.topArray(top, kind) {
			r.namePos[kind] = append(r.namePos[kind], d.pos.at(join(t.path, "name")))
			switch kind {
			case "tenant":
				ten := d.tenant(t, i)
				r.policy.Tenants = append(r.policy.Tenants, ten)
			case "rule":
				rule, refs := d.rule(t, i)
				r.policy.Rules = append(r.policy.Rules, rule)
				r.refs = append(r.refs, refs...)
			case "detector":
				det := d.detector(t, i)
				r.policy.Detectors = append(r.policy.Detectors, det)
			}
			d.owner = ""
		}
	}
	top.finish(topKeys)
	r.errs = d.errs
	return r
}

// topArray reads [[kind]] tables; a single [kind] table is an error.
func (d *decoder) topArray(top *tbl, kind string) []*tbl {
	if v, ok := top.m[kind]; ok {
		if _, isTable := v.(map[string]any); isTable {
			top.used[kind] = true
			top.failMsg(kind, "[%s] must be written [[%s]] (an array of tables)", kind, kind)
			return nil
		}
	}
	l, _ := top.subs(kind)
	for _, t := range l {
		t.prefix = "" // keys are named relative to their tenant, rule or detector
	}
	return l
}

// merge joins decoded files and checks what spans files: unique names and
// the tenants rules refer to.
func merge(files []string, results []*fileResult, errs Errors) (*Policy, error) {
	p := &Policy{Files: files}
	seen := map[string]map[string]Pos{"tenant": {}, "rule": {}, "detector": {}}
	for _, r := range results {
		errs = append(errs, r.errs...)
		type block struct {
			name string
			pos  Pos
		}
		blocks := map[string][]block{}
		for _, x := range r.policy.Tenants {
			blocks["tenant"] = append(blocks["tenant"], block{x.Name, x.Pos})
		}
		for _, x := range r.policy.Rules {
			blocks["rule"] = append(blocks["rule"], block{x.Name, x.Pos})
		}
		for _, x := range r.policy.Detectors {
			blocks["detector"] = append(blocks["detector"], block{x.Name, x.Pos})
		}
		for _, kind := range []string{"tenant", "rule", "detector"} {
			for i, b := range blocks[kind] {
				if b.name == "" {
					continue
				}
				if prev, dup := seen[kind][b.name]; dup {
					at := r.namePos[kind][i]
					errs = append(errs, &Error{File: at.File, Line: at.Line, Col: at.Col, Key: "name",
						Owner: fmt.Sprintf("%s %q", kind, b.name),
						Msg:   fmt.Sprintf("name %q is already used by the %s at %s", b.name, kind, posString(prev))})
					continue
				}
				seen[kind][b.name] = b.pos
			}
		}
		p.Tenants = append(p.Tenants, r.policy.Tenants...)
		p.Rules = append(p.Rules, r.policy.Rules...)
		p.Detectors = append(p.Detectors, r.policy.Detectors...)
	}
	for _, r := range results {
		for _, ref := range r.refs {
			if _, ok := seen["tenant"][ref.name]; !ok {
				errs = append(errs, ref.at)
			}
		}
	}
	if len(errs) > 0 {
		sortErrors(errs, files)
		return nil, errs
	}
	p.compile()
	return p, nil
}

func posString(p Pos) string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	}
	return s
}

// sortErrors orders problems by file (in load order), line and column.
func sortErrors(errs Errors, files []string) {
	rank := map[string]int{}
	for i, f := range files {
		rank[f] = i
	}
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		ra, oka := rank[a.File]
		rb, okb := rank[b.File]
		if oka != okb {
			return !oka // problems with the paths themselves first
		}
		if ra != rb {
			return ra < rb
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Summary describes a loaded policy for `quell policy check`, e.g.
// "3 files, 4 tenants, 2 rules, 1 detector: valid". A *Policy only exists
// once valid, so it always ends in "valid".
func (p *Policy) Summary() string {
	return fmt.Sprintf("%s, %s, %s, %s: valid", count(len(p.Files), "file"), count(len(p.Tenants), "tenant"),
		count(len(p.Rules), "rule"), count(len(p.Detectors), "detector"))
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
