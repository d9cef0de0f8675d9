package limits

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// NeededControllers are the cgroup v2 controllers quell writes limits
// through: cpu.max/cpu.weight, memory.*, io.max/io.weight and pids.max.
var NeededControllers = []string{"cpu", "io", "memory", "pids"}

// ErrNotCgroup2 says the cgroup root is not a usable cgroup v2 hierarchy:
// a v1 or hybrid host, or a v2 one without the controllers quell needs.
var ErrNotCgroup2 = errors.New("not a usable cgroup v2 hierarchy")

// HostCgroup is what CheckCgroup2 reads and writes; the zero value is the
// real kernel (statfs(2), os.ReadFile, os.WriteFile). Tests inject.
type HostCgroup struct {
	Statfs    func(path string, st *unix.Statfs_t) error
	ReadFile  func(path string) ([]byte, error)
	WriteFile func(path string, b []byte) error
}

// CheckCgroup2 returns nil when root is on a cgroup2 filesystem
// (statfs f_type CGROUP2_SUPER_MAGIC) whose cgroup.controllers offers every
// NeededControllers and whose cgroup.subtree_control enables them for the
// cgroups below. With enable, a controller that is offered but not enabled
// is enabled ("+name" into root/cgroup.subtree_control, as systemd does for
// a unit that asks for accounting); without, it is reported. Otherwise it
// returns one error wrapping ErrNotCgroup2 that says what is wrong and how
// to fix it: on a v1 or hybrid host (a tmpfs at /sys/fs/cgroup), boot with
// systemd.unified_cgroup_hierarchy=1.
func (h HostCgroup) CheckCgroup2(root string, enable bool) error {
	if h.Statfs == nil {
		h.Statfs = unix.Statfs
	}
	if h.ReadFile == nil {
		h.ReadFile = os.ReadFile
	}
	if h.WriteFile == nil {
		h.WriteFile = func(p string, b []byte) error { return os.WriteFile(p, b, 0) }
	}
	var st unix.Statfs_t
	if err := h.Statfs(root, &st); err != nil {
		return fmt.Errorf("cgroup root %s: statfs: %w: %w", root, err, ErrNotCgroup2)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("cgroup root %s is %s, not cgroup2 (a cgroup v1 or hybrid host): %w; quell needs the unified hierarchy: "+
			"add systemd.unified_cgroup_hierarchy=1 to the kernel command line and reboot, or set cgroup_root in /etc/quell/quelld.toml to the cgroup2 mount",
			root, fsTypeName(st.Type), ErrNotCgroup2)
	}
	avail, err := h.controllers(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return err
	}
	if miss := missing(avail); len(miss) > 0 {
		return fmt.Errorf("cgroup root %s: controllers %s are not available in cgroup v2 (cgroup.controllers: %q): %w; "+
			"they are bound to a v1 hierarchy or disabled: boot with systemd.unified_cgroup_hierarchy=1 and without cgroup_no_v1= or cgroup_disable= for them",
			root, strings.Join(miss, ", "), strings.Join(avail, " "), ErrNotCgroup2)
	}
	ctl := filepath.Join(root, "cgroup.subtree_control")
	on, err := h.controllers(ctl)
	if err != nil {
		return err
	}
	miss := missing(on)
	if enable {
		for _, c := range miss {
			_ = h.WriteFile(ctl, []byte("+"+c)) // re-read below decides
		}
		if on, err = h.controllers(ctl); err != nil {
			return err
		}
		miss = missing(on)
	}
	if len(miss) > 0 {
		return fmt.Errorf("cgroup root %s: controllers %s are not enabled for the cgroups below it (%s: %q): %w; "+
			"enable them: echo '+%s' > %s (systemd: systemctl set-property --runtime system.slice CPUAccounting=yes IOAccounting=yes MemoryAccounting=yes TasksAccounting=yes)",
			root, strings.Join(miss, ", "), ctl, strings.Join(on, " "), ErrNotCgroup2, strings.Join(miss, " +"), ctl)
	}
	return nil
}

func (h HostCgroup) controllers(path string) ([]string, error) {
	b, err := h.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w: %w", path, err, ErrNotCgroup2)
	}
	return strings.Fields(string(b)), nil
}

func missing(have []string) []string {
	var out []string
	for _, c := range NeededControllers {
		if !slices.Contains(have, c) {
			out = append(out, c)
		}
	}
	return out
}

func fsTypeName(t int64) string {
	switch t {
	case unix.TMPFS_MAGIC:
		return "a tmpfs"
	case unix.CGROUP_SUPER_MAGIC:
		return "a cgroup v1 hierarchy"
	case unix.SYSFS_MAGIC:
		return "sysfs"
	}
	return fmt.Sprintf("a filesystem of type %#x", t)
}
