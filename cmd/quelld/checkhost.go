package main

import (
	"fmt"
	"os"

	"github.com/quell-dev/quell/limits"
)

// runCheckHost is `quelld --check-host`: the start-up check of the cgroup
// root, alone, changing nothing. 0 when quelld could run here, else 1 with
// the one-line reason and fix on stderr.
func runCheckHost(root string) int {
	if err := (limits.HostCgroup{}).CheckCgroup2(root, false); err != nil {
		fmt.Fprintln(os.Stderr, "quelld:", err)
		return 1
	}
	fmt.Printf("quelld: %s is a cgroup v2 hierarchy with the controllers quell needs\n", root)
	return 0
}
