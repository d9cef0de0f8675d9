package policies

import (
	"net/netip"
	"strings"
)

// DefaultMaxStddev is a flat-cpu detector's max_stddev when it sets none:
// CPU use varying by less than this many CPUs over the window counts as flat.
const DefaultMaxStddev = 0.1

var (
	detectorKeys = []string{"name", "kind", "min_cpus", "max_stddev", "window", "names", "ports", "addresses",
		"action", "factor", "for", "classes", "quarantine"}
	// kindKeys lists the keys that only apply to one kind.
	kindKeys = map[string]string{
		"min_cpus": KindFlatCPU, "max_stddev": KindFlatCPU, "window": KindFlatCPU,
		"names": KindProcessName,
		"ports": KindEndpoint, "addresses": KindEndpoint,
	}
)

// detector decodes the n-th [[detector]] of the file.
func (d *decoder) detector(t *tbl, n int) Detector {
	det := Detector{Pos: t.pos()}
	det.Name, _ = t.name("detector", n)
	if s, ok := t.str("kind"); ok {
		switch s {
		case KindFlatCPU, KindProcessName, KindEndpoint:
			det.Kind = s
		default:
			t.fail("kind", "unknown kind %q (use flat-cpu, process-name or endpoint)", s)
		}
	} else if !t.has("kind") {
		d.errAt(t.path, "kind", "kind is missing (flat-cpu, process-name or endpoint)")
	}
	if det.Kind != "" {
		for _, k := range detectorKeys {
			if want, only := kindKeys[k]; only && want != det.Kind && t.has(k) {
				t.used[k] = true
				t.fail(k, "applies only to kind %q, not %q", want, det.Kind)
			}
		}
	}
	if det.Kind == "" { // nothing to check these against
		for k := range kindKeys {
			t.used[k] = true
		}
	}
	switch det.Kind {
	case KindFlatCPU:
		if v, ok := t.num("min_cpus"); ok {
			switch {
			case v <= 0:
				t.fail("min_cpus", "%v must be above 0", v)
			case d.opts.HostCPUs > 0 && v > float64(d.opts.HostCPUs):
				t.fail("min_cpus", "%v is more than this host's %d CPUs", v, d.opts.HostCPUs)
			default:
				det.MinCPUs = v
			}
		} else if !t.has("min_cpus") {
			d.errAt(t.path, "min_cpus", "min_cpus is missing: flat-cpu needs it, e.g. min_cpus = 0.9")
		}
		det.MaxStddev = DefaultMaxStddev
		if v, ok := t.num("max_stddev"); ok {
			if v < 0 {
				t.fail("max_stddev", "%v is negative", v)
			} else {
				det.MaxStddev = v
			}
		}
		if v, ok := t.duration("window"); ok {
			if v == 0 {
				t.fail("window", "must be above 0")
			}
			det.Window = v
		} else if !t.has("window") {
			d.errAt(t.path, "window", "window is missing: flat-cpu needs it, e.g. window = \"10m\"")
		}
	case KindProcessName:
		if l, ok := t.strs("names"); ok {
			if len(l) == 0 {
				t.fail("names", "empty: give at least one process name glob")
			}
			for i, g := range l {
				if err := checkNameGlob(g); err != nil {
					t.elemFail("names", i, "%q: %v", g, err)
				}
			}
			det.Names = l
		} else if !t.has("names") {
			d.errAt(t.path, "names", "names is missing: process-name needs it, e.g. names = [\"xmrig\"]")
		}
	case KindEndpoint:
		if l, ok := t.list("ports"); ok {
			for i, e := range l {
				p, isInt := e.(int64)
				if !isInt || p < 1 || p > 65535 {
					t.elemFail("ports", i, "want a port 1..65535, got %s", describe(e))
					continue
				}
				det.Ports = append(det.Ports, int(p))
			}
		}
		if l, ok := t.strs("addresses"); ok {
			for i, a := range l {
				if !addressOK(a) {
					t.elemFail("addresses", i, "%q is not an IP address or CIDR prefix", a)
					continue
				}
				det.Addresses = append(det.Addresses, a)
			}
		}
		if !t.has("ports") && !t.has("addresses") {
			d.errAt(t.path, "ports", "endpoint needs ports or addresses")
		}
	}
	det.Action, det.Factor, det.For = t.penalty()
	det.Classes = t.classes("classes")
	if q, ok := t.duration("quarantine"); ok {
		det.Quarantine = &q
	}
	t.finish(detectorKeys)
	return det
}

func addressOK(s string) bool {
	if strings.Contains(s, "/") {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}
