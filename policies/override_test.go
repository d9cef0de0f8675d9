package policies

import "testing"

// override is a tenant bool, false unless said; anything but a bool is an
// error naming file:line.
func TestTenantOverride(t *testing.T) {
	t.Parallel()
	p, err := Parse("o.toml", []byte(head), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenants[0].Override {
		t.Error("override is true by default, want false (runtime limits are ceilings)")
	}
	p, err = Parse("o.toml", []byte("[[tenant]]\nname = \"acme\"\noverride = true\n[tenant.match]\nnames = [\"a\"]\n"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Tenants[0].Override {
		t.Error("override = true decoded as false")
	}
	_, err = Parse("o.toml", []byte("[[tenant]]\nname = \"acme\"\noverride = \"yes\"\n[tenant.match]\nnames = [\"a\"]\n"), testOptions())
	want := `o.toml:3:1: tenant "acme": override: want true or false, got string "yes"`
	if err == nil || err.Error() != want {
		t.Errorf("override = \"yes\": got %v, want %s", err, want)
	}
}
