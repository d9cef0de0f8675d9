package policies

import (
	"fmt"
	"strconv"
)

// Warnings lists what is valid but unsafe among hostile tenants, as Errors
// (file:line: tenant "x": message) that do not make the policy invalid:
//
//   - a guaranteed tenant whose match uses names or labels without
//     trusted_labels. Names, Docker labels and OCI annotations are chosen by
//     whoever creates the container, so any creator could claim the tenant's
//     share and its protection from rules (a cgroups glob such as
//     system.slice/docker-*.scope fits every Docker container, so it does
//     not help). trusted_labels (set by the runtime), or cgroups globs alone
//     on a parent only the tenant's containers use, close that.
//   - a labels match on a key a runtime also sets itself
//     (io.kubernetes.pod.namespace and the other Kubernetes keys): written
//     under labels it is satisfied by the creator's own copy too; under
//     trusted_labels only by the runtime's.
func (p *Policy) Warnings() Errors {
	var out Errors
	for i := range p.Tenants {
		t := &p.Tenants[i]
		owner := "tenant " + strconv.Quote(t.Name)
		m := &t.Match
		if t.Class == Guaranteed && len(m.TrustedLabels) == 0 && (len(m.Names) > 0 || len(m.Labels) > 0) {
			out = append(out, &Error{File: t.Pos.File, Line: t.Pos.Line, Col: t.Pos.Col, Key: "match", Owner: owner,
				Msg: "guaranteed tenant can be joined by name or label: whoever creates a container chooses " +
					"those, and a container named or labelled so gets this tenant's share and its protection " +
					"from rules; match with trusted_labels, or with cgroups globs alone on a parent only " +
					"this tenant's containers are placed under"})
		}
		for _, k := range sortedKeys(m.Labels) {
			if runtimeSetKeys[k] {
				out = append(out, &Error{File: t.Pos.File, Line: t.Pos.Line, Col: t.Pos.Col, Key: "match.labels", Owner: owner,
					Msg: fmt.Sprintf("labels %s is also satisfied by a label the container's creator supplies; "+
						"write it under trusted_labels to accept only the runtime's value", strconv.Quote(k))})
			}
		}
	}
	return out
}

// runtimeSetKeys are label keys a runtime sets itself for the containers it
// runs (containerd's CRI plugin, from the pod sandbox), so a policy can ask
// for them under trusted_labels.
var runtimeSetKeys = map[string]bool{
	"io.kubernetes.pod.namespace":  true,
	"io.kubernetes.pod.name":       true,
	"io.kubernetes.pod.uid":        true,
	"io.kubernetes.container.name": true,
}
