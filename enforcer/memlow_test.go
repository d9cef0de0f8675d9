package enforcer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quell-dev/quell/policies"
)

func TestMemoryLowWarnedWithoutRecursiveProt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain", "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"+
		"29 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n")
	prot := write("prot", "29 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
	spaced := write("spaced", "29 22 0:26 / /tmp/cg\\040root rw - cgroup2 cgroup2 rw\n")
	low := int64(1 << 27)
	p := &policies.Policy{Tenants: []policies.Tenant{{Name: "db", Limits: policies.Limits{MemoryLow: &low}}, {Name: "web"}}}
	ws := memoryLowWarnings(p, plain, "/sys/fs/cgroup")
	if len(ws) != 1 || !strings.Contains(ws[0], "tenant db sets memory_low") || !strings.Contains(ws[0], "memory_recursiveprot") {
		t.Fatalf("without memory_recursiveprot: %q", ws)
	}
	if ws := memoryLowWarnings(p, prot, "/sys/fs/cgroup"); len(ws) != 0 {
		t.Errorf("with memory_recursiveprot: %q", ws)
	}
	if ws := memoryLowWarnings(p, spaced, "/tmp/cg root"); len(ws) != 1 {
		t.Errorf("an escaped mount point: %q", ws)
	}
	if ws := memoryLowWarnings(p, filepath.Join(dir, "none"), "/sys/fs/cgroup"); len(ws) != 0 {
		t.Errorf("unreadable mountinfo: %q", ws)
	}
	p.Tenants[0].Limits.MemoryLow, p.Tenants[1].Container.MemoryLow = nil, &low
	if ws := memoryLowWarnings(p, plain, "/sys/fs/cgroup"); len(ws) != 1 || !strings.Contains(ws[0], "tenant web") {
		t.Errorf("a per-container memory_low: %q", ws)
	}
	p.Tenants[1].Container.MemoryLow = nil
	if ws := memoryLowWarnings(p, plain, "/sys/fs/cgroup"); len(ws) != 0 {
		t.Errorf("no memory_low: %q", ws)
	}
}
