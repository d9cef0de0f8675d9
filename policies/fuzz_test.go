package policies

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input makes Parse or the position scanner panic, and Parse
// returns either a policy or an Errors with positions, never both.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.toml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(head + "[tenant.limits]\nio = [{ device = \"/dev/vda\", read_bps = \"1MB\" }]\n"))
	f.Add([]byte("a = '''x'''''\nb = \"\"\"\\\"\"\"\"\"\n[[t]]\n[[t.u]]\n[t.u.v]\n"))
	f.Add([]byte("tenant = [{ name = \"a\", match = { names = [\n\"x\", # c\n] } }]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		scanPositions("f.toml", string(data))
		p, err := Parse("f.toml", data, Options{HostCPUs: 4, DeviceExists: func(string) error { return nil }})
		if (p == nil) == (err == nil) {
			t.Fatalf("policy %v and error %v", p, err)
		}
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T is not a non-empty Errors", err)
			}
			for _, e := range es {
				if e.File != "f.toml" || e.Msg == "" {
					t.Fatalf("bad problem %#v", e)
				}
			}
			return
		}
		_ = p.Summary()
		p.Match(Container{Cgroup: "a/b", Name: "n", Labels: map[string]string{"k": "v"}})
	})
}
