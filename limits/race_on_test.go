//go:build race

package limits

// raceEnabled: the race detector makes allocation counts meaningless.
const raceEnabled = true
