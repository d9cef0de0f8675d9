// Package kernel holds quell's real-kernel tests. They are built with the
// "lab" tag (go test -c -tags lab -o bin/kernel.test ./test/kernel) and run
// only inside the lab VM (bin/lab test, make test), where cgroup v2 is pure
// and writable; outside it they fail rather than skip. This file, without
// the tag, keeps the package present in ordinary builds.
package kernel
