package discover

import (
	"path/filepath"
	"strings"
)

// fromContainerd says whether m was read from containerd's own runc root
// (/run/containerd/runc/<namespace>/<id>), where the io.kubernetes.cri.*
// annotations are containerd's.
func (r Roots) fromContainerd(m Meta) bool {
	return strings.HasPrefix(m.Source, filepath.Join(r.Run, "containerd/runc")+"/")
}

// Kubernetes keys that policies match on, and the CRI annotations
// containerd's CRI plugin sets from the pod sandbox that they derive from.
var kubeKeys = [][2]string{
	{"io.kubernetes.pod.namespace", "io.kubernetes.cri.sandbox-namespace"},
	{"io.kubernetes.pod.name", "io.kubernetes.cri.sandbox-name"},
	{"io.kubernetes.container.name", "io.kubernetes.cri.container-name"},
	{"io.kubernetes.pod.uid", "io.kubernetes.cri.sandbox-uid"},
}

// deriveKubernetes fills the Kubernetes keys of m from the CRI annotations
// and picks a name when the runtime gave none.
//
// cri says the state was read from containerd's own runc root, where the
// io.kubernetes.cri.* annotations are written by containerd's CRI plugin
// from the pod sandbox (pod annotations reach the OCI spec only through the
// runtime handler's allow-list). There the CRI value always wins over a
// same-named key the container's creator supplied (a pod claiming
// io.kubernetes.pod.namespace = "victim"), and both the CRI annotations and
// the keys derived from them are recorded in m.Trusted. From any other state
// (Docker, podman, runc) every label is the creator's and none is trusted.
func deriveKubernetes(m *Meta, cri bool) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	for _, kk := range kubeKeys {
		v, ok := m.Labels[kk[1]]
		if !ok {
			continue
		}
		if cri {
			m.Labels[kk[0]] = v
			if m.Trusted == nil {
				m.Trusted = map[string]string{}
			}
			m.Trusted[kk[0]], m.Trusted[kk[1]] = v, v
		} else if _, has := m.Labels[kk[0]]; !has {
			m.Labels[kk[0]] = v
		}
	}
	if m.Name == "" {
		if c := m.Labels["io.kubernetes.container.name"]; c != "" {
			m.Name = c
			if p := m.Labels["io.kubernetes.pod.name"]; p != "" {
				m.Name = p + "/" + c
			}
		} else if n := m.Labels["io.podman.annotations.name"]; n != "" {
			m.Name = n
		}
	}
}
