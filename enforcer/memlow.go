package enforcer

import (
	"bufio"
	"os"
	"strings"

	"github.com/quell-dev/quell/policies"
)

// memoryLowWarnings warns, once per policy load, about each tenant that
// sets memory_low when the cgroup2 mount at root lacks the
// memory_recursiveprot option: the kernel then honours a cgroup's
// memory.low under host-wide pressure only as far as every ancestor sets
// memory.low too, and quell sets it on the tenant's own cgroups only
// (system.slice or quell.slice above them set none), so the protection
// can be nothing, silently (memory.events "low" stays 0). Found in the
// bench: a victim one level below a cgroup without memory.low fell from
// 128 MiB to 2 MiB, as an unprotected twin did. systemd (v247 on) mounts
// cgroup2 with the option; a hand-made mount may not have it. mountinfo
// is /proc/self/mountinfo; nothing is said when it cannot be read or has
// no mount at root.
func memoryLowWarnings(p *policies.Policy, mountinfo, root string) []string {
	var who []string
	for i := range p.Tenants {
		t := &p.Tenants[i]
		if t.Limits.MemoryLow != nil || t.Container.MemoryLow != nil {
			who = append(who, t.Name)
		}
	}
	if len(who) == 0 {
		return nil
	}
	opts, ok := mountOptions(mountinfo, root)
	if !ok || hasOption(opts, "memory_recursiveprot") {
		return nil
	}
	out := make([]string, 0, len(who))
	for _, name := range who {
		out = append(out, "tenant "+name+" sets memory_low, but the cgroup2 mount at "+root+
			" lacks memory_recursiveprot: the kernel honours memory.low only as far as every ancestor cgroup sets it too, "+
			"so under host-wide memory pressure it may protect nothing (remount with -o memory_recursiveprot, as systemd does)")
	}
	return out
}

// mountOptions returns the per-mount and superblock options of the mount
// at mountpoint in a mountinfo file (proc(5)), the last one listed.
func mountOptions(mountinfo, mountpoint string) (string, bool) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return "", false
	}
	defer f.Close()
	var opts string
	found := false
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 6 || len(b) < 3 || unescapeMount(a[4]) != mountpoint {
			continue
		}
		opts, found = a[5]+","+b[2], true
	}
	return opts, found
}

func hasOption(opts, opt string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, …).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}
