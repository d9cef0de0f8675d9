package policies

import "sort"

// SignalInfo describes a signal a rule can watch.
type SignalInfo struct {
	Name     string // e.g. "host.cpu.some.avg10"
	Scope    string // "host": one value for the machine; "tenant": one value per tenant
	Resource string // cpu | memory | io: also the rule's default target.rank
	Min, Max float64
	Help     string
}

// signalSummary is how messages describe the set below.
const signalSummary = "host.<cpu|memory|io>.<some|full>.<recent|avg1|avg10|avg60|avg300>, host.memory.available, " +
	"tenant.<cpu|memory|io>.<some|full>.<recent|avg1|avg10|avg60|avg300>"

// signals is the one definition of the known signals.
var signals = func() map[string]SignalInfo {
	m := map[string]SignalInfo{}
	for _, scope := range []string{"host", "tenant"} {
		for _, res := range []string{"cpu", "memory", "io"} {
			for _, kind := range []string{"some", "full"} {
				for _, avg := range []string{"recent", "avg1", "avg10", "avg60", "avg300"} {
					name := scope + "." + res + "." + kind + "." + avg
					src := "/proc/pressure/" + res
					if scope == "tenant" {
						src = "the " + res + ".pressure of the tenant's cgroups (the highest)"
					}
					how := avg + " from " + src
					switch avg {
					case "avg1":
						how = "over about the last second, computed by quelld from the total of " + src +
							" (reacts within a tick; avg10 lags a step by seconds)"
					case "recent":
						how = "over the last few hundred ms (at least 200 ms, since the newest earlier read of the total of " + src +
							"), computed by quelld: true on the pass a PSI trigger wakes, ~0.2 s after a stall starts; noisy, give it a threshold well above idle"
					}
					m[name] = SignalInfo{Name: name, Scope: scope, Resource: res, Min: 0, Max: 100,
						Help: "percent of time " + kind + " tasks stalled on " + res + ", " + how}
				}
			}
		}
	}
	m["host.memory.available"] = SignalInfo{Name: "host.memory.available", Scope: "host", Resource: "memory", Min: 0, Max: 100,
		Help: "MemAvailable as a percent of MemTotal, from /proc/meminfo"}
	return m
}()

// Signals returns every signal a rule's when.signal may name, sorted by
// name. The slice is a copy; changing it changes nothing.
func Signals() []SignalInfo {
	out := make([]SignalInfo, 0, len(signals))
	for _, s := range signals {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
