// Package prometheus ships quell's Prometheus alert rules
// (quell.rules.yml, tested by promtool in `make rules`) inside Go
// binaries that need them, such as the lab test in which a real
// Prometheus scrapes a real quelld. It holds data only.
package prometheus

import _ "embed"

// Rules is quell.rules.yml.
//
//go:embed quell.rules.yml
var Rules []byte
