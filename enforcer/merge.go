package enforcer

import (
	"github.com/quell-dev/quell/limits"
)

// merge combines a split share with the per-container caps
// (share.Tighten(caps): for each numeric limit the tighter wins, Max
// counting as unlimited; for the rest the cap wins when set). why is
// updated for the files the cap decided.
func merge(share limits.Resources, why map[string]string, caps limits.Resources, capWhy string) (limits.Resources, map[string]string) {
	r := share.Tighten(caps)
	out := map[string]string{}
	for k, v := range why {
		out[k] = v
	}
	for _, f := range decidedBy(share, caps, r) {
		out[f] = capWhy
	}
	return r, out
}

// decidedBy lists the files that layer decided when base.Tighten(layer)
// gave got, by comparing the writes: the files layer sets whose value in
// got is layer's, or is not base's.
func decidedBy(base, layer, got limits.Resources) []string {
	b, l, g := byFile(base), byFile(layer), byFile(got)
	var files []string
	for f, v := range l {
		if g[f] == v || g[f] != b[f] {
			files = append(files, f)
		}
	}
	return files
}

// byFile is r's writes by file, io.max's lines together.
func byFile(r limits.Resources) map[string]string {
	m := map[string]string{}
	for _, w := range r.Writes() {
		m[w.File] += w.Value + "\n"
	}
	return m
}
