// Package detect decides, tick by tick, which container to throttle, freeze,
// thaw, unthrottle or evict. It evaluates the policy's rules (a signal above
// or below a threshold for a duration, then a throttle → freeze → evict
// ladder with hysteresis, cooldowns and a global eviction budget) and abuse
// detectors (flat CPU, process names, remote endpoints) over a Snapshot the
// enforcer's observe step fills in.
//
// It is pure logic: no I/O, no goroutines, no wall clock. Time comes from
// each Snapshot (and from Config.Now for Restore and Release), so tests of
// "sustained for 5s" run in microseconds. It never executes anything: it
// returns Actions for the act step and keeps the penalties it decided, with
// their deadlines, for the state file and for `quell explain`.
//
// It imports only policies (types); limits are the act step's business.
package detect
