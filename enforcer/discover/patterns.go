package discover

import (
	"regexp"
	"strings"
)

// Found is a cgroup recognised as a container by its path alone.
type Found struct {
	Cgroup  string // relative to the cgroup root
	ID      string // runtime ID or machine/LXC name
	Runtime string // docker | containerd | cri-o | podman | nspawn | lxc
	// Ino is the cgroup directory's inode number when Walk found it (0
	// from Classify). The kernel never reuses a cgroup's inode number
	// within a boot, so a cgroup recreated at the same path (a container
	// restarted by its runtime) has another one.
	Ino uint64
}

var (
	hex64 = `[0-9a-f]{64}`
	// systemd cgroup driver leaves: <prefix>-<id>.scope
	scopeRe = regexp.MustCompile(`^(docker|cri-containerd|crio|libpod)-(` + hex64 + `)\.scope$`)
	// cgroupfs driver leaves: a bare 64-hex directory (docker/<id>, kubepods/.../<id>)
	bareRe = regexp.MustCompile(`^` + hex64 + `$`)
	// CRI-O's cgroupfs driver: kubepods/.../crio-<id>
	crioBareRe = regexp.MustCompile(`^crio-(` + hex64 + `)$`)
	// podman cgroupfs driver: libpod_parent/libpod-<id>
	libpodRe = regexp.MustCompile(`^libpod-(` + hex64 + `)$`)
	// systemd-nspawn / machined: machine.slice/machine-<name>.scope (name escaped)
	machineRe = regexp.MustCompile(`^machine-(.+)\.scope$`)
)

var scopeRuntime = map[string]string{
	"docker":         "docker",
	"cri-containerd": "containerd",
	"crio":           "cri-o",
	"libpod":         "podman",
}

// Classify says whether the cgroup at rel (its parent dirs and base name)
// is a container, and which. A runtime's name pattern counts only under the
// parents that runtime uses, so a look-alike name elsewhere (in a user's
// delegated subtree, below another container) is not a container:
//   - <runtime>-<id>.scope (Docker, podman, containerd and CRI-O with the
//     systemd driver) only below a chain of systemd slices (system.slice,
//     machine.slice, a --cgroup-parent slice such as
//     quell.slice/quell-acme.slice), the CRI runtimes' only below
//     kubepods.slice;
//   - docker/<id> only in the root's docker/ (Docker's cgroupfs driver);
//     kubepods/…/<id> and kubepods/…/crio-<id> only below kubepods/;
//     libpod-<id> only below libpod_parent/;
//   - machine-<name>.scope only directly in machine.slice;
//   - lxc.payload.<name> only at the top level.
//
// It returns ok=false for everything else, including podman's conmon
// scopes and pod sandboxes' parent slices. Classify looks at names only;
// Walk also refuses directories a user other than the root's owner could
// have made.
func Classify(rel string) (Found, bool) {
	base := rel
	parent := ""
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		base, parent = rel[i+1:], rel[:i]
	}
	if m := scopeRe.FindStringSubmatch(base); m != nil {
		rt := scopeRuntime[m[1]]
		if !sliceChain(parent) || (rt == "containerd" || rt == "cri-o") && !underKubepodsSlice(parent) {
			return Found{}, false
		}
		return Found{Cgroup: rel, ID: m[2], Runtime: rt}, true
	}
	if m := libpodRe.FindStringSubmatch(base); m != nil {
		if parent == "libpod_parent" || strings.HasPrefix(parent, "libpod_parent/") {
			return Found{Cgroup: rel, ID: m[1], Runtime: "podman"}, true
		}
		return Found{}, false
	}
	kubepods := parent == "kubepods" || strings.HasPrefix(parent, "kubepods/")
	if bareRe.MatchString(base) {
		switch {
		case parent == "docker":
			return Found{Cgroup: rel, ID: base, Runtime: "docker"}, true
		case kubepods:
			return Found{Cgroup: rel, ID: base, Runtime: "containerd"}, true
		}
		return Found{}, false
	}
	if m := crioBareRe.FindStringSubmatch(base); m != nil && kubepods {
		return Found{Cgroup: rel, ID: m[1], Runtime: "cri-o"}, true
	}
	if parent == "machine.slice" {
		if m := machineRe.FindStringSubmatch(base); m != nil && !strings.HasPrefix(base, "machine-libpod") {
			return Found{Cgroup: rel, ID: unescapeUnit(m[1]), Runtime: "nspawn"}, true
		}
	}
	if parent == "" && strings.HasPrefix(base, "lxc.payload.") && len(base) > len("lxc.payload.") {
		return Found{Cgroup: rel, ID: strings.TrimPrefix(base, "lxc.payload."), Runtime: "lxc"}, true
	}
	return Found{}, false
}

// sliceChain reports whether rel is a path of systemd slices as systemd
// lays them out: "a.slice/a-b.slice/a-b-c.slice", each one's name the
// previous one's plus "-<more>". systemd makes every slice's directory
// this way, so a scope of a runtime's systemd driver always sits in such a
// chain; a directory of another name (a user's app.slice inside
// user@1000.service, a plain dir) breaks it.
func sliceChain(rel string) bool {
	if rel == "" {
		return false
	}
	prev := ""
	for _, c := range strings.Split(rel, "/") {
		name, ok := strings.CutSuffix(c, ".slice")
		if !ok || name == "" {
			return false
		}
		if prev == "" {
			if strings.Contains(name, "-") {
				return false
			}
		} else if rest, ok := strings.CutPrefix(name, prev+"-"); !ok || rest == "" || strings.HasPrefix(rest, "-") {
			return false
		}
		prev = name
	}
	return true
}

// underKubepodsSlice reports whether a slice chain starts at kubepods.slice.
func underKubepodsSlice(rel string) bool {
	return rel == "kubepods.slice" || strings.HasPrefix(rel, "kubepods.slice/")
}

// unescapeUnit undoes systemd's \xNN escaping in unit names, except for
// bytes that must not appear in an ID: '/', '\\' and control characters
// (C0, DEL) stay escaped as they were, so an ID never carries a path
// separator or a terminal escape.
func unescapeUnit(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, ok := hexByte(s[i+2], s[i+3]); ok && v >= 0x20 && v != 0x7f && v != '/' && v != '\\' {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hexByte(hi, lo byte) (byte, bool) {
	var v byte
	for _, c := range []byte{hi, lo} {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= c - '0'
		case c >= 'a' && c <= 'f':
			v |= c - 'a' + 10
		default:
			return 0, false
		}
	}
	return v, true
}
