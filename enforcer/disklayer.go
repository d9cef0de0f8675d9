package enforcer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errNoLayer means neither the container's root mount nor its bundle tells
// where its writable layer is.
var errNoLayer = errors.New("writable layer not found")

// writableLayer finds the directory that holds what container writes to
// its root: the upperdir of the overlay mounted at "/" in its mount
// namespace (read from procRoot/<pid>/mountinfo), else the OCI bundle's
// rootfs (config.json root.path, relative to the bundle; "rootfs" when
// config.json has none). An overlay root without an upperdir (read-only) has
// no writable layer.
func writableLayer(procRoot string, pid int, bundle string) (string, error) {
	var why []string
	if pid > 0 {
		p := filepath.Join(procRoot, strconv.Itoa(pid), "mountinfo")
		f, err := os.Open(p)
		if err == nil {
			upper, overlay, err := parseRootUpperdir(f)
			f.Close()
			switch {
			case err != nil:
				return "", fmt.Errorf("%s: %w", p, err)
			case upper != "":
				return upper, nil
			case overlay:
				return "", fmt.Errorf("root of %s is an overlay without upperdir: %w", p, errNoLayer)
			}
			why = append(why, "root in "+p+" is not an overlay")
		} else {
			why = append(why, err.Error())
		}
	}
	if bundle != "" {
		root, err := bundleRootfs(bundle)
		if err == nil {
			return root, nil
		}
		why = append(why, err.Error())
	} else {
		why = append(why, "no OCI bundle known")
	}
	return "", fmt.Errorf("%w: %s", errNoLayer, strings.Join(why, "; "))
}

// parseRootUpperdir reads a mountinfo file and returns the upperdir of the
// topmost mount at "/" if that is an overlay (overlay true, upper possibly
// ""), or overlay false if the root is something else. Malformed lines are
// errors naming their number.
func parseRootUpperdir(r io.Reader) (upper string, overlay bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20) // overlay option lists can be long
	n, found := 0, false
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 10 || sep < 0 || sep+3 >= len(f) {
			return "", false, fmt.Errorf("mountinfo line %d: malformed %q", n, sc.Text())
		}
		if f[4] != "/" {
			continue
		}
		found = true // later lines are mounted on top of earlier ones
		upper, overlay = "", f[sep+1] == "overlay"
		if !overlay {
			continue
		}
		for _, opt := range strings.Split(f[sep+3], ",") {
			if v, ok := strings.CutPrefix(opt, "upperdir="); ok {
				upper = unescapeOctal(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, err
	}
	if !found {
		return "", false, errors.New("no mount at /")
	}
	if upper != "" && !filepath.IsAbs(upper) {
		return "", true, fmt.Errorf("overlay upperdir %q is not absolute", upper)
	}
	return upper, overlay, nil
}

// unescapeOctal undoes the kernel's \ooo escapes in mountinfo (space, tab,
// newline, backslash, and in overlay options also comma and "=").
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// bundleRootfs returns the rootfs of the OCI bundle: root.path of its
// config.json (relative paths are relative to the bundle), or
// <bundle>/rootfs if config.json is absent or names no root. The directory
// must exist.
func bundleRootfs(bundle string) (string, error) {
	root := "rootfs"
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	switch {
	case err == nil:
		var cfg struct {
			Root *struct {
				Path string `json:"path"`
			} `json:"root"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return "", fmt.Errorf("parse %s: %w", filepath.Join(bundle, "config.json"), err)
		}
		if cfg.Root != nil && cfg.Root.Path != "" {
			root = cfg.Root.Path
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	if !filepath.IsAbs(root) {
		root = filepath.Join(bundle, root)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("bundle rootfs: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("bundle rootfs %s is not a directory", root)
	}
	return root, nil
}
