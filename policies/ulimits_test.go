package policies

import (
	"strings"
	"testing"
)

func TestUlimitsDecode(t *testing.T) {
	t.Parallel()
	src := head + "[tenant.container]\nulimits = { nofile = 4096, nproc = 512, cpu = \"10m\", core = 0 }\n"
	p, err := Parse("p.toml", []byte(src), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	u := p.Tenants[0].Container.Ulimits
	if u == nil || *u.NoFile != 4096 || *u.NProc != 512 || *u.CPU != 600 || *u.Core != 0 {
		t.Fatalf("ulimits = %+v", u)
	}
	p, err = Parse("p.toml", []byte(head+"[tenant.container]\nulimits = { cpu = 30, core = \"1MiB\" }\n"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if u := p.Tenants[0].Container.Ulimits; *u.CPU != 30 || *u.Core != 1<<20 || u.NoFile != nil || u.NProc != nil {
		t.Fatalf("ulimits = %+v", u)
	}
}

func TestUlimitsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"bad values", head + "[tenant.container]\nulimits = { nofile = 0, nproc = -3, cpu = \"1.5s\", core = \"1G\", nfile = 3 }\n",
			`p.toml:6:13: tenant "acme": container.ulimits.nofile: 0 must be at least 1 (leave nofile out for no limit)
p.toml:6:25: tenant "acme": container.ulimits.nproc: -3 must be at least 1 (leave nproc out for no limit)
p.toml:6:37: tenant "acme": container.ulimits.cpu: "1.5s" is not a whole number of seconds (RLIMIT_CPU counts seconds)
p.toml:6:51: tenant "acme": container.ulimits.core: unknown size unit "G" (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)
p.toml:6:64: tenant "acme": unknown key "container.ulimits.nfile" (did you mean "container.ulimits.nofile"?)`},
		{"wrong types", head + "[tenant.container]\nulimits = { nofile = \"4096\", cpu = true }\n",
			`p.toml:6:13: tenant "acme": container.ulimits.nofile: want an integer, got string "4096"
p.toml:6:30: tenant "acme": container.ulimits.cpu: want a duration such as "10m" or an integer of seconds, got boolean true`},
		{"cpu below a second", head + "[tenant.container]\nulimits = { cpu = \"500ms\" }\n",
			`p.toml:6:13: tenant "acme": container.ulimits.cpu: "500ms" is below 1s, the smallest CPU time limit`},
		{"empty", head + "[tenant.container]\nulimits = {}\n",
			`p.toml:6:1: tenant "acme": container.ulimits sets no limit (give nofile, nproc, cpu or core)`},
		{"not a table", head + "[tenant.container]\nulimits = 5\n",
			`p.toml:6:1: tenant "acme": container.ulimits: want a table, got integer 5`},
		{"in the aggregate", head + "[tenant.limits]\nulimits = { nofile = 64 }\n",
			`p.toml:6:1: tenant "acme": limits.ulimits: per-process limits have no tenant-wide total: put ulimits under [tenant.container]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.toml", []byte(tc.src), testOptions())
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.TrimSpace(err.Error()); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
