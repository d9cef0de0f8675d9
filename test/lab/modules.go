package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// guestModules are the kernel modules the guest loads at boot, by name.
// Their dependencies are not listed here: resolveModules finds them in the
// kernel's modules.dep, modules.softdep and modules.alias.
var guestModules = []string{
	// devices and the 9p/overlay root
	"virtio_pci", "virtio_blk", "9pnet_virtio", "9p", "overlay",
	// scratch file systems and swap
	"xfs", "ext4",
	// network shaping
	"veth", "ifb", "sch_tbf", "sch_htb", "sch_ingress", "sch_fq",
	"act_mirred", "cls_matchall", "cls_u32", "cls_fw",
}

// module is one loadable module: its name, its path relative to the
// kernel's module directory, and whether failing to load it is fatal
// (soft dependencies are best effort).
type module struct {
	Name     string
	Path     string
	Optional bool
}

// moduleIndex is what resolveModules needs from /lib/modules/<ver>.
type moduleIndex struct {
	path    map[string]string   // name -> relative .ko path
	deps    map[string][]string // name -> names it needs
	softPre map[string][]string // name -> softdep "pre:" names or aliases
	alias   map[string][]string // exact alias -> module names
	builtin map[string]bool
}

// moduleName turns "kernel/fs/xfs/xfs.ko" into "xfs"; modprobe treats '-'
// and '_' as equal, so names are kept with '_'.
func moduleName(p string) string {
	base := filepath.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(base, ".ko"), "-", "_")
}

// loadModuleIndex reads modules.dep, modules.softdep, modules.alias and
// modules.builtin from dir (e.g. /lib/modules/6.1.0-56-amd64).
func loadModuleIndex(dir string) (*moduleIndex, error) {
	idx := &moduleIndex{path: map[string]string{}, deps: map[string][]string{},
		softPre: map[string][]string{}, alias: map[string][]string{}, builtin: map[string]bool{}}
	err := eachLine(filepath.Join(dir, "modules.dep"), true, func(line string) {
		mod, deps, ok := strings.Cut(line, ":")
		if !ok {
			return
		}
		name := moduleName(mod)
		idx.path[name] = mod
		for _, d := range strings.Fields(deps) {
			idx.deps[name] = append(idx.deps[name], moduleName(d))
		}
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(filepath.Join(dir, "modules.softdep"), false, func(line string) {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "softdep" {
			return
		}
		name, pre := moduleName(f[1]), false
		for _, w := range f[2:] {
			switch w {
			case "pre:":
				pre = true
			case "post:":
				pre = false
			default:
				if pre {
					idx.softPre[name] = append(idx.softPre[name], w)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(filepath.Join(dir, "modules.alias"), false, func(line string) {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "alias" && !strings.ContainsAny(f[1], "*?[") {
			idx.alias[f[1]] = append(idx.alias[f[1]], moduleName(f[2]))
		}
	})
	if err != nil {
		return nil, err
	}
	err = eachLine(filepath.Join(dir, "modules.builtin"), false, func(line string) {
		idx.builtin[moduleName(line)] = true
	})
	return idx, err
}

func eachLine(path string, required bool, fn func(string)) error {
	f, err := os.Open(path)
	if err != nil {
		if !required && os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read module index: %w", err)
	}
	defer f.Close()
	return scanLines(f, path, fn)
}

func scanLines(r io.Reader, path string, fn func(string)) error {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			fn(line)
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// resolveModules returns the modules to insmod for want, dependencies
// first, each once. Built-in modules are skipped. A wanted module that is
// neither loadable nor built in is an error; an unresolvable soft
// dependency is not.
func (idx *moduleIndex) resolveModules(want []string) ([]module, error) {
	var out []module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, optional bool, chain []string) error
	visit = func(name string, optional bool, chain []string) error {
		name = moduleName(name)
		if idx.builtin[name] || state[name] == 2 {
			return nil
		}
		if state[name] == 1 {
			return fmt.Errorf("module dependency cycle: %s -> %s", strings.Join(chain, " -> "), name)
		}
		p, ok := idx.path[name]
		if !ok {
			if optional {
				return nil
			}
			return fmt.Errorf("kernel module %s (needed by %s) is neither in modules.dep nor built in",
				name, strings.Join(append(chain, "request"), " <- "))
		}
		state[name] = 1
		for _, soft := range idx.softPre[name] {
			targets := idx.alias[soft]
			if len(targets) == 0 {
				targets = []string{soft}
			}
			for _, t := range targets {
				if err := visit(t, true, append(chain, name)); err != nil {
					return err
				}
			}
		}
		for _, d := range idx.deps[name] {
			if err := visit(d, optional, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		out = append(out, module{Name: name, Path: p, Optional: optional})
		return nil
	}
	for _, w := range want {
		if err := visit(w, false, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
