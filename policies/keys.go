package policies

import "slices"

// KeySection is one table of the policy format and the keys it accepts.
type KeySection struct {
	Section string // "" (top level), "tenant", "tenant.match", ..., "detector"
	Keys    []string
}

// Keys lists every key the decoder accepts, by section, in the order the
// format documents them. A key missing here is a key the man page
// (quell-policy.5) cannot describe; the lists are the decoder's own.
func Keys() []KeySection {
	return []KeySection{
		{"", slices.Clone(topKeys)},
		{"tenant", slices.Clone(tenantKeys)},
		{"tenant.match", slices.Clone(matchKeys)},
		{"tenant.limits, tenant.container", slices.Clone(limitKeys)},
		{"io", slices.Clone(ioKeys)},
		{"net", slices.Clone(netKeys)},
		{"disk", slices.Clone(diskKeys)},
		{"ulimits", slices.Clone(ulimitKeys)},
		{"rule", slices.Clone(ruleKeys)},
		{"rule.when", slices.Clone(whenKeys)},
		{"rule.target", slices.Clone(targetKeys)},
		{"rule.ladder", slices.Clone(stepKeys)},
		{"detector", slices.Clone(detectorKeys)},
	}
}
