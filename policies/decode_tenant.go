package policies

import (
	"strings"

	"github.com/quell-dev/quell/internal/cpuset"
)

var (
	tenantKeys = []string{"name", "class", "override", "match", "limits", "container"}
	matchKeys  = []string{"cgroups", "names", "labels", "trusted_labels"}
	limitKeys  = []string{"cpus", "cpu_weight", "cpuset", "cpuset_mems", "memory", "memory_high", "memory_low",
		"swap", "pids", "io", "io_weight", "net", "disk", "ulimits"}
	ioKeys   = []string{"device", "read_bps", "write_bps", "read_iops", "write_iops"}
	netKeys  = []string{"egress", "ingress"}
	diskKeys = []string{"bytes", "inodes", "volumes"}
)

// limitsSrc keeps the tables a Limits came from, for messages that compare
// two of them.
type limitsSrc struct {
	t      *tbl
	net    *tbl
	disk   *tbl
	io     map[string]*tbl // by device
	cpuset cpuset.Set
}

// tenant decodes the n-th [[tenant]] of the file.
func (d *decoder) tenant(t *tbl, n int) Tenant {
	ten := Tenant{Class: Burstable, Pos: t.pos()}
	ten.Name, _ = t.name("tenant", n)
	if s, ok := t.str("class"); ok {
		if c, ok := parseClass(s); ok {
			ten.Class = c
		} else {
			t.fail("class", "unknown class %q (use guaranteed, burstable or best-effort)", s)
		}
	}
	ten.Override, _ = t.boolean("override")
	if m, ok := t.sub("match"); ok {
		ten.Match = d.match(m)
	} else if !t.has("match") {
		d.errAt(t.path, "match", `match is missing: a tenant must say which containers it takes; to take every container, write cgroups = ["**"] under [tenant.match]`)
	}
	var agg, per *limitsSrc
	if l, ok := t.sub("limits"); ok {
		ten.Limits, agg = d.limits(l, false)
	}
	if l, ok := t.sub("container"); ok {
		ten.Container, per = d.limits(l, true)
	}
	if agg != nil && per != nil {
		checkCaps(ten.Limits, ten.Container, agg, per)
	}
	t.finish(tenantKeys)
	return ten
}

func (d *decoder) match(t *tbl) Match {
	before := len(d.errs)
	var m Match
	if l, ok := t.strs("cgroups"); ok {
		for i, g := range l {
			if err := checkCgroupGlob(g); err != nil {
				t.elemFail("cgroups", i, "%q: %v", g, err)
			}
		}
		m.Cgroups = l
	}
	if l, ok := t.strs("names"); ok {
		for i, g := range l {
			if err := checkNameGlob(g); err != nil {
				t.elemFail("names", i, "%q: %v", g, err)
			}
		}
		m.Names = l
	}
	m.Labels = labelTable(t, "labels")
	m.TrustedLabels = labelTable(t, "trusted_labels")
	if len(m.Cgroups) == 0 && len(m.Names) == 0 && len(m.Labels) == 0 && len(m.TrustedLabels) == 0 &&
		len(d.errs) == before && len(t.m) == len(t.used) {
		d.errAt(t.path, "match", `match is empty and would take every container; to mean that, write cgroups = ["**"]`)
	}
	t.finish(matchKeys)
	return m
}

// labelTable decodes a { key = "value" } table of label matches, or nil
// when key is absent.
func labelTable(t *tbl, key string) map[string]string {
	lt, ok := t.sub(key)
	if !ok {
		return nil
	}
	m := make(map[string]string, len(lt.m))
	for k := range lt.m {
		if k == "" {
			lt.fail(k, "empty label name")
			continue
		}
		if v, ok := lt.str(k); ok {
			m[k] = v
		}
	}
	return m
}

// limits decodes [tenant.limits] or [tenant.container] and checks the values
// against each other.
// perContainer: t is [tenant.container], where ulimits may be given.
func (d *decoder) limits(t *tbl, perContainer bool) (Limits, *limitsSrc) {
	var l Limits
	src := &limitsSrc{t: t}
	if v, ok := t.num("cpus"); ok {
		switch {
		case v <= 0:
			t.fail("cpus", "%v must be above 0 (leave cpus out for no limit)", v)
		case v < 0.01:
			t.fail("cpus", "%v is below the smallest quota the kernel takes (0.01)", v)
		case d.opts.HostCPUs > 0 && v > float64(d.opts.HostCPUs):
			t.fail("cpus", "%v is more than this host's %d CPUs", v, d.opts.HostCPUs)
		default:
			l.CPUs = &v
		}
	}
	l.CPUWeight = weight(t, "cpu_weight")
	l.IOWeight = weight(t, "io_weight")
	if s, ok := t.str("cpuset"); ok {
		if rs, err := parseCpuset(s); err != nil {
			t.fail("cpuset", "%v", err)
		} else {
			l.Cpuset, src.cpuset = &s, rs
		}
	}
	if s, ok := t.str("cpuset_mems"); ok {
		if _, err := parseCpuset(s); err != nil {
			t.fail("cpuset_mems", "%v", err)
		} else {
			l.CpusetMems = &s
		}
	}
	for _, k := range []string{"memory", "memory_high", "memory_low", "swap"} {
		v, ok := t.size(k)
		if !ok {
			continue
		}
		if v == 0 && (k == "memory" || k == "memory_high") {
			t.fail(k, "0 would leave no memory at all (leave %s out for no limit)", k)
			continue
		}
		switch k {
		case "memory":
			l.Memory = &v
		case "memory_high":
			l.MemoryHigh = &v
		case "memory_low":
			l.MemoryLow = &v
		case "swap":
			l.Swap = &v
		}
	}
	if l.Memory != nil {
		for _, c := range []struct {
			key string
			v   *int64
		}{{"memory_high", l.MemoryHigh}, {"memory_low", l.MemoryLow}} {
			if c.v != nil && *c.v > *l.Memory {
				t.failMsg(c.key, "%s%s (%s) is above %smemory (%s)", t.prefix, c.key, t.shown[c.key], t.prefix, t.shown["memory"])
			}
		}
	}
	if v, ok := t.integer("pids"); ok {
		if v < 1 {
			t.fail("pids", "%d must be at least 1 (leave pids out for no limit)", v)
		} else {
			l.Pids = &v
		}
	}
	if ios, ok := t.subs("io"); ok {
		src.io = map[string]*tbl{}
		for _, it := range ios {
			if io, ok := d.io(it, src.io); ok {
				l.IO = append(l.IO, io)
			}
		}
	}
	if nt, ok := t.sub("net"); ok {
		src.net = nt
		var n NetLimit
		n.EgressBits, _ = nt.bitRate("egress")
		n.IngressBits, _ = nt.bitRate("ingress")
		if !nt.has("egress") && !nt.has("ingress") {
			d.errAt(nt.path, t.prefix+"net", t.prefix+"net needs egress or ingress")
		}
		nt.finish(netKeys)
		l.Net = &n
	}
	if dt, ok := t.sub("disk"); ok {
		src.disk = dt
		var dl DiskLimit
		if v, ok := dt.size("bytes"); ok {
			dl.Bytes = uint64(v)
		}
		if v, ok := dt.integer("inodes"); ok {
			if v < 0 {
				dt.fail("inodes", "%d is negative", v)
			} else {
				dl.Inodes = uint64(v)
			}
		}
		if vols, ok := dt.strs("volumes"); ok {
			for i, v := range vols {
				if !strings.HasPrefix(v, "/") {
					dt.elemFail("volumes", i, "%q is not an absolute path", v)
				}
			}
			dl.Volumes = vols
		}
		if !dt.has("bytes") && !dt.has("inodes") {
			d.errAt(dt.path, t.prefix+"disk", t.prefix+"disk needs bytes or inodes")
		}
		dt.finish(diskKeys)
		l.Disk = &dl
	}
	if ut, ok := t.sub("ulimits"); ok {
		if perContainer {
			l.Ulimits = d.ulimits(ut)
		} else {
			ut.used = map[string]bool{} // nothing below it is reported as unknown
			for k := range ut.m {
				ut.used[k] = true
			}
			t.fail("ulimits", "per-process limits have no tenant-wide total: put ulimits under [tenant.container]")
		}
	}
	t.finish(limitKeys)
	return l, src
}

func weight(t *tbl, key string) *uint64 {
	v, ok := t.integer(key)
	if !ok {
		return nil
	}
	if v < 1 || v > 10000 {
		t.fail(key, "%d is outside 1..10000", v)
		return nil
	}
	w := uint64(v)
	return &w
}

// io decodes one io entry; seen holds the entries so far, by device.
func (d *decoder) io(t *tbl, seen map[string]*tbl) (IOLimit, bool) {
	before := len(d.errs)
	var io IOLimit
	if dev, ok := t.str("device"); ok {
		switch {
		case !strings.HasPrefix(dev, "/"):
			t.fail("device", "%q is not a device path such as \"/dev/vda\"", dev)
		case seen[dev] != nil:
			p := seen[dev].pos()
			t.fail("device", "%q already has an entry at %s:%d:%d", dev, p.File, p.Line, p.Col)
		default:
			seen[dev] = t
			if d.opts.DeviceExists != nil {
				if err := d.opts.DeviceExists(dev); err != nil {
					t.fail("device", "%q: %v", dev, err)
				}
			}
		}
		io.Device = dev
	} else if !t.has("device") {
		d.errAt(t.path, t.prefix+"device", t.prefix+"device is missing")
	}
	io.ReadBPS, _ = t.byteRate("read_bps")
	io.WriteBPS, _ = t.byteRate("write_bps")
	for _, k := range []string{"read_iops", "write_iops"} {
		v, ok := t.integer(k)
		if ok && v < 0 {
			t.fail(k, "%d is negative", v)
			continue
		}
		if k == "read_iops" {
			io.ReadIOPS = uint64(v)
		} else {
			io.WriteIOPS = uint64(v)
		}
	}
	if !t.has("read_bps") && !t.has("write_bps") && !t.has("read_iops") && !t.has("write_iops") {
		d.errAt(t.path, strings.TrimSuffix(t.prefix, "."), strings.TrimSuffix(t.prefix, ".")+" sets no limit (give read_bps, write_bps, read_iops or write_iops)")
	}
	t.finish(ioKeys)
	return io, len(d.errs) == before
}

// checkCaps reports each per-container cap above the tenant's aggregate.
func checkCaps(agg, per Limits, a, p *limitsSrc) {
	above := func(pt, at *tbl, key string) {
		pt.failMsg(key, "%s%s (%s) is above %s%s (%s), the tenant's total", pt.prefix, key, pt.shown[key], at.prefix, key, at.shown[key])
	}
	type pair struct {
		key  string
		a, p float64
	}
	var pairs []pair
	f := func(key string, x, y *float64) {
		if x != nil && y != nil {
			pairs = append(pairs, pair{key, *x, *y})
		}
	}
	i := func(key string, x, y *int64) {
		if x != nil && y != nil {
			pairs = append(pairs, pair{key, float64(*x), float64(*y)})
		}
	}
	f("cpus", agg.CPUs, per.CPUs)
	i("memory", agg.Memory, per.Memory)
	i("memory_high", agg.MemoryHigh, per.MemoryHigh)
	i("memory_low", agg.MemoryLow, per.MemoryLow)
	i("swap", agg.Swap, per.Swap)
	i("pids", agg.Pids, per.Pids)
	for _, pr := range pairs {
		if pr.p > pr.a {
			above(p.t, a.t, pr.key)
		}
	}
	if a.cpuset != nil && p.cpuset != nil && !p.cpuset.SubsetOf(a.cpuset) {
		p.t.failMsg("cpuset", "%scpuset (%s) has CPUs outside %scpuset (%s)", p.t.prefix, p.t.shown["cpuset"], a.t.prefix, a.t.shown["cpuset"])
	}
	// Zero means "not limited" for rates and disk: a container at 0 under a
	// limited tenant is still held by the tenant's total.
	u := func(pt, at *tbl, key string, x, y uint64) {
		if x != 0 && y > x {
			above(pt, at, key)
		}
	}
	if agg.Net != nil && per.Net != nil {
		u(p.net, a.net, "egress", agg.Net.EgressBits, per.Net.EgressBits)
		u(p.net, a.net, "ingress", agg.Net.IngressBits, per.Net.IngressBits)
	}
	if agg.Disk != nil && per.Disk != nil {
		u(p.disk, a.disk, "bytes", agg.Disk.Bytes, per.Disk.Bytes)
		u(p.disk, a.disk, "inodes", agg.Disk.Inodes, per.Disk.Inodes)
	}
	aio := map[string]IOLimit{}
	for _, io := range agg.IO {
		aio[io.Device] = io
	}
	for _, io := range per.IO {
		x, ok := aio[io.Device]
		if !ok {
			continue
		}
		pt, at := p.io[io.Device], a.io[io.Device]
		if pt == nil || at == nil {
			continue
		}
		u(pt, at, "read_bps", x.ReadBPS, io.ReadBPS)
		u(pt, at, "write_bps", x.WriteBPS, io.WriteBPS)
		u(pt, at, "read_iops", x.ReadIOPS, io.ReadIOPS)
		u(pt, at, "write_iops", x.WriteIOPS, io.WriteIOPS)
	}
}
