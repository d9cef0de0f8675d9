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
}

var (
	hex64 = `[0-9a-f]{64}`
	// systemd cgroup driver leaves: <prefix>-<id>.scope
	scopeRe = regexp.MustCompile(`^(docker|cri-containerd|crio|libpod)-(` + hex64 + `)\.scope$`)
	// cgroupfs driver leaves: a bare 64-hex directory (docker/<id>, kubepods/.../<id>)
	bareRe = regexp.MustCompile(`^` + hex64 + `$`)
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
// is a container, and which. It returns ok=false for everything else,
// including podman's conmon scopes and pod sandboxes' parent slices.
func Classify(rel string) (Found, bool) {
	base := rel
	parent := ""
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		base, parent = rel[i+1:], rel[:i]
	}
	if m := scopeRe.FindStringSubmatch(base); m != nil {
		return Found{Cgroup: rel, ID: m[2], Runtime: scopeRuntime[m[1]]}, true
	}
	if m := libpodRe.FindStringSubmatch(base); m != nil {
		return Found{Cgroup: rel, ID: m[1], Runtime: "podman"}, true
	}
	if bareRe.MatchString(base) {
		switch {
		case parent == "docker" || strings.HasSuffix(parent, "/docker"):
			return Found{Cgroup: rel, ID: base, Runtime: "docker"}, true
		case strings.HasPrefix(parent, "kubepods"):
			return Found{Cgroup: rel, ID: base, Runtime: "containerd"}, true
		}
	}
	if parent == "machine.slice" {
		if m := machineRe.FindStringSubmatch(base); m != nil && !strings.HasPrefix(base, "machine-libpod") {
			return Found{Cgroup: rel, ID: unescapeUnit(m[1]), Runtime: "nspawn"}, true
		}
	}
	if strings.HasPrefix(base, "lxc.payload.") && len(base) > len("lxc.payload.") {
		return Found{Cgroup: rel, ID: strings.TrimPrefix(base, "lxc.payload."), Runtime: "lxc"}, true
	}
	return Found{}, false
}

// unescapeUnit undoes systemd's \xNN escaping in unit names.
func unescapeUnit(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			var v byte
			ok := true
			for _, c := range []byte(s[i+2 : i+4]) {
				v <<= 4
				switch {
				case c >= '0' && c <= '9':
					v |= c - '0'
				case c >= 'a' && c <= 'f':
					v |= c - 'a' + 10
				default:
					ok = false
				}
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
