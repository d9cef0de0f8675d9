//go:build lab

package kernel

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-dev/quell/enforcer/api"
	"github.com/quell-dev/quell/enforcer/state"
	"github.com/quell-dev/quell/enforcer/view"
	"github.com/quell-dev/quell/test/labkit"
)

// The state file's previous and corrupt copies (spelled out so this test
// also builds against a quelld that had neither).
const (
	prevName    = "state.json.prev"
	corruptName = "state.json.corrupt"
)

const throttlePolicy = `
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  names = ["batch-*"]

[[rule]]
name = "cpu-throttle"
when = { signal = "host.cpu.some.avg10", above = 25.0, for = "1s" }
release = 10.0
target = { classes = ["best-effort"], rank = "cpu" }
ladder = [{ action = "throttle", factor = 0.5, for = "10m" }]
cooldown = "10m"
`

// penaltyIn reports whether the state file at p holds a penalty on id.
func penaltyIn(p, id string) bool {
	var d state.Data
	b, err := os.ReadFile(p)
	if err != nil || json.Unmarshal(b, &d) != nil {
		return false
	}
	for _, pen := range d.Penalties {
		if pen.Target.ID == id {
			return true
		}
	}
	return false
}

// TestCorruptStateFileStartsFromThePreviousCopy: quelld throttles a CPU
// antagonist for 10 minutes and is killed; its state file is overwritten
// with garbage. Restarted, it comes up (the old quelld refused to start
// while the file was corrupt: a crash loop under systemd), says so in an
// event, keeps the corrupt file aside, and the throttle from the previous
// copy is still in force.
func TestCorruptStateFileStartsFromThePreviousCopy(t *testing.T) {
	labkit.Require(t)
	q := startQuelld(t, throttlePolicy)
	c := api.NewClient(q.socket)
	a := labkit.StartContainer(t, labkit.ContainerSpec{Runtime: labkit.Docker, Name: "batch-miner", Args: busyArgs(4)})
	cpuMax := filepath.Join(a.CgroupDir, "cpu.max")
	if watch(40*time.Second, func() bool { return labkit.ReadFile(cpuMax) != "max 100000" }).IsZero() {
		logEvents(t, q)
		t.Fatal("antagonist not throttled within 40s")
	}
	throttled := labkit.ReadFile(cpuMax)
	// One more save (a policy reload records an event) makes the file with
	// the throttle the previous copy.
	q.writePolicy(throttlePolicy + "\n# reloaded\n")
	sdir := filepath.Join(q.dir, "state")
	if watch(20*time.Second, func() bool { return penaltyIn(filepath.Join(sdir, prevName), a.ID) }).IsZero() {
		t.Errorf("the previous copy %s never held the throttle", prevName) // go on: a restart must work anyway
	}
	q.kill9()
	if err := os.WriteFile(filepath.Join(sdir, state.FileName), []byte("\x00\x00garbage{\"version\":"), 0o600); err != nil {
		t.Fatal(err)
	}
	restartQuelld(q) // fails the test if quelld does not come up
	var v *view.View
	kept := !watch(10*time.Second, func() bool { // the first pass publishes the view
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		if v, err = c.View(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range v.Penalties {
			if p.ID == a.ID && p.Action == "throttle" {
				return true
			}
		}
		return false
	}).IsZero()
	said := false
	for _, ev := range apiEvents(t, c) {
		said = said || (ev.Kind == "error" && containsAll(ev.Reason, "unreadable", prevName))
	}
	time.Sleep(3 * time.Second)
	got := labkit.ReadFile(cpuMax)
	t.Logf("FIGURE corrupt state: restarted; throttle kept %v, cpu.max %q (was %q), event said so %v, %s kept %v",
		kept, got, throttled, said, corruptName, labkit.ReadFile(filepath.Join(sdir, corruptName)) != "")
	if !kept || got == "max 100000" {
		t.Errorf("the throttle from the previous copy is gone: penalties %+v, cpu.max %q", v.Penalties, got)
	}
	if !said {
		logEvents(t, q)
		t.Error("no event says the state file was recovered from its previous copy")
	}
	if _, err := os.Stat(filepath.Join(sdir, corruptName)); err != nil {
		t.Errorf("the corrupt file was not kept aside: %v", err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
