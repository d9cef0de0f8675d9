package cli

import (
	"strings"
	"testing"

	"github.com/quell-dev/quell/enforcer/view"
)

// explain says, under each limit, whether the policy, the runtime or a
// penalty decided it.
func TestExplainSaysWhoDecidedEachFile(t *testing.T) {
	t.Parallel()
	x := &view.Explanation{Container: view.ContainerView{Container: view.Container{ID: webID, Name: "acme-web"}},
		Limits: []view.Change{
			{File: "memory.max", Old: "67108864", New: "67108864", Why: "the container runtime set 67108864", DecidedBy: "runtime"},
			{File: "cpu.max", Old: "max 100000", New: "50000 100000", Why: "tenant acme container.cpus = 0.5", DecidedBy: "policy"},
		}}
	var b strings.Builder
	if err := writeExplanation(&b, x, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"memory.max = 67108864 (unchanged)\n    because the container runtime set 67108864\n    decided by: runtime\n",
		"cpu.max: max 100000 → 50000 100000\n    because tenant acme container.cpus = 0.5\n    decided by: policy\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("explain lacks %q:\n%s", want, b.String())
		}
	}
}
