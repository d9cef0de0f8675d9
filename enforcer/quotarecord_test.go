package enforcer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quell-dev/quell/limits/projquota"
)

// What quell tags is on disk before it is tagged, and a later process (the
// restore-all one) finds and untags it.
func TestRecordedQuotasSurviveTheProcess(t *testing.T) {
	t.Parallel()
	stateDir, data := t.TempDir(), t.TempDir()
	a, b := filepath.Join(data, "a"), filepath.Join(data, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := newFakeQuotas()
	r := recordDirs(f, stateDir)
	for _, d := range []string{a, b} {
		if err := r.Assign(d, 100000, projquota.ProjectLimit{Bytes: 1 << 20}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Untag(b); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(data, "gone")
	if err := r.update(func(m map[string]uint32) { m[gone] = 100001 }); err != nil {
		t.Fatal(err)
	}

	later := recordDirs(f, stateDir) // a fresh process: nothing in memory
	dirs, _, err := later.restoreAll()
	if err != nil {
		t.Fatal(err)
	}
	if dirs != 1 || f.tags[a] != 0 {
		t.Errorf("restored %d dirs, tags left %v; want a untagged", dirs, f.tags)
	}
	left, err := later.load()
	if err != nil || len(left) != 0 {
		t.Errorf("record after restore: %v %v, want empty", left, err)
	}
}
