package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/view"
)

// quell status counts the rules and gives a line to each one that holds or
// acts: its signal's value, how long it held, its step and culprit, and why
// it waits.
func TestStatusSaysWhatEachBusyRuleDoes(t *testing.T) {
	t.Parallel()
	v := fixtureSource().ViewValue
	v.Rules = []view.RuleView{
		{Rule: "quiet", Signal: "host.io.some.avg10", Value: 1.5, HasValue: true},
		{Rule: "storm", Signal: "host.cpu.some.avg10", Value: 90, HasValue: true, HeldFor: 1500 * time.Millisecond, Waiting: "no eligible unit to act on"},
		{Rule: "hog", Tenant: "acme", Signal: "tenant.memory.some.recent", Value: 40.25, HasValue: true, HeldFor: 3 * time.Second,
			Step: 2, Culprit: strings.Repeat("ab", 32), CulpritName: "batch-7"},
	}
	var b strings.Builder
	if err := writeStatus(&b, v, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"rules:      3 watched, 2 holding or acting\n",
		"rule:       storm: host.cpu.some.avg10 = 90, held 1.5s; waiting: no eligible unit to act on\n",
		"rule:       hog (tenant acme): tenant.memory.some.recent = 40.25, held 3s; step 2 on batch-7\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "rule:       quiet") {
		t.Errorf("status gives a line to an idle rule:\n%s", out)
	}
}
