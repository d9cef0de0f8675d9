package discover

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
)

// Check cross-checks m, read from runtime state under f's ID, against the
// cgroup f was found at. It returns an error wrapping ErrRefused when
//   - the state names no cgroup, or another cgroup than f's (a directory
//     that only borrows a real container's ID, or a second cgroup claiming
//     it);
//   - the state's init PID is not at or below f's cgroup in
//     <Proc>/<pid>/cgroup, or is gone;
//   - the init's start time (<Proc>/<pid>/stat) is not the one the state
//     recorded (the PID was reused).
//
// A state without an init PID (0) is checked by its cgroup alone. Empty
// Proc and CgroupMount mean "/proc" and "/sys/fs/cgroup".
func (r Roots) Check(f Found, m Meta) error {
	if m.Cgroup == "" {
		return fmt.Errorf("%s container %s: %w: %s names no cgroup", f.Runtime, f.ID, ErrRefused, m.Source)
	}
	if m.Cgroup != f.Cgroup {
		return fmt.Errorf("%s container %s: %w: %s names cgroup %q, not %q", f.Runtime, f.ID, ErrRefused, m.Source, m.Cgroup, f.Cgroup)
	}
	if m.PID <= 0 {
		return nil
	}
	proc := r.Proc
	if proc == "" {
		proc = "/proc"
	}
	pdir := filepath.Join(proc, strconv.Itoa(m.PID))
	data, err := readCapped(filepath.Join(pdir, "cgroup"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s container %s: %w: its init PID %d is gone", f.Runtime, f.ID, ErrRefused, m.PID)
	}
	if err != nil {
		return err
	}
	cg, ok := unifiedCgroup(data)
	if !ok || (cg != "/"+f.Cgroup && !strings.HasPrefix(cg, "/"+f.Cgroup+"/")) {
		return fmt.Errorf("%s container %s: %w: its init PID %d is in cgroup %q, not at or below %q", f.Runtime, f.ID, ErrRefused, m.PID, cg, "/"+f.Cgroup)
	}
	if m.StartTime == 0 {
		return nil
	}
	stat, err := readCapped(filepath.Join(pdir, "stat"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s container %s: %w: its init PID %d is gone", f.Runtime, f.ID, ErrRefused, m.PID)
	}
	if err != nil {
		return err
	}
	if st, ok := startTime(stat); !ok || st != m.StartTime {
		return fmt.Errorf("%s container %s: %w: PID %d started at tick %d, not %d as %s says (PID reused)", f.Runtime, f.ID, ErrRefused, m.PID, st, m.StartTime, m.Source)
	}
	return nil
}

// unifiedCgroup returns the cgroup v2 path ("0::<path>") of a
// /proc/<pid>/cgroup file.
func unifiedCgroup(data []byte) (string, bool) {
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, true
		}
	}
	return "", false
}

// startTime returns field 22 (starttime) of a /proc/<pid>/stat line; the
// command name (field 2) may hold spaces and parentheses, so fields are
// counted after its last ')'.
func startTime(stat []byte) (uint64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 { // fields 3..22
		return 0, false
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	return v, err == nil
}

// runcCgroup is the cgroup a runc state names, relative to the cgroup
// root: the cgroupfs driver's path, or the systemd driver's
// parent slice and unit expanded as systemd lays them out.
func runcCgroup(st *libcontainer.State) string {
	if c := st.Config.Cgroups; c != nil {
		switch {
		case c.Path != "" && strings.HasPrefix(c.Path, "/"):
			return strings.Trim(filepath.Clean(c.Path), "/")
		case c.Name != "":
			parent := c.Parent
			if parent == "" {
				parent = "system.slice"
			}
			unit := c.Name
			if !strings.HasSuffix(unit, ".slice") {
				unit = c.ScopePrefix + "-" + c.Name + ".scope"
			}
			if p, ok := expandSlice(parent); ok {
				return strings.TrimPrefix(p+"/"+unit, "/")
			}
		}
	}
	return ""
}

// expandSlice turns a slice name into its cgroup path:
// "a-b-c.slice" → "a.slice/a-b.slice/a-b-c.slice", "-.slice" → "".
func expandSlice(slice string) (string, bool) {
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || strings.Contains(name, "/") {
		return "", false
	}
	if name == "-" {
		return "", true
	}
	if name == "" || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
		return "", false
	}
	var path []string
	for i := range name {
		if name[i] == '-' {
			path = append(path, name[:i]+".slice")
		}
	}
	return strings.Join(append(path, slice), "/"), true
}

// StartTime returns field 22 (starttime, clock ticks after boot) of a
// /proc/<pid>/stat line; false when the line does not parse.
func StartTime(stat []byte) (uint64, bool) { return startTime(stat) }
