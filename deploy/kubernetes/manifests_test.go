// Package kubernetes holds quell's Kubernetes manifests (a DaemonSet and
// what it needs). Its test checks that the DaemonSet mounts every path
// quelld uses where quelld looks for it.
package kubernetes

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/quell-dev/quell/enforcer"
	"github.com/quell-dev/quell/policies"
	"go.yaml.in/yaml/v3"
)

// The parts of the manifests the test looks at.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string
	Metadata   struct {
		Name, Namespace string
		Labels          map[string]string
	}
	Data      map[string]string
	Resources []string // kustomization
	Spec      struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     podSpec
		}
	}
}

type podSpec struct {
	HostPID            bool   `yaml:"hostPID"`
	HostNetwork        bool   `yaml:"hostNetwork"`
	ServiceAccountName string `yaml:"serviceAccountName"`
	Containers         []struct {
		Name            string
		Image           string
		Args            []string
		SecurityContext struct{ Privileged bool } `yaml:"securityContext"`
		VolumeMounts    []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
			SubPath   string `yaml:"subPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	Volumes []struct {
		Name     string
		HostPath *struct{ Path, Type string } `yaml:"hostPath"`
		Config   *struct{ Name string }       `yaml:"configMap"`
	}
}

// load reads every document of every file the kustomization lists.
func load(t *testing.T) []object {
	t.Helper()
	var k object
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &k); err != nil || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: %v, kind %q", err, k.Kind)
	}
	var objs []object
	for _, f := range k.Resources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("kustomization.yaml lists %s: %v", f, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s in the manifests", kind, name)
	return object{}
}

// TestDaemonSetMountsWhatQuelldUses: each path quelld uses (its defaults,
// and the ConfigMap's quelld.toml over them) is mounted from the node's
// same path, or from the ConfigMap it belongs to, so quelld in the pod
// works on the node and `quell` on the node finds its socket.
func TestDaemonSetMountsWhatQuelldUses(t *testing.T) {
	objs := load(t)
	ns := find(t, objs, "Namespace", "quell-system")
	for _, o := range objs {
		if o.Kind != "Namespace" && o.Metadata.Namespace != ns.Metadata.Name {
			t.Errorf("%s %s is in namespace %q, not %s", o.Kind, o.Metadata.Name, o.Metadata.Namespace, ns.Metadata.Name)
		}
	}
	ds := find(t, objs, "DaemonSet", "quelld")
	pod := ds.Spec.Template.Spec
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not select the pod template", k, v)
		}
	}
	find(t, objs, "ServiceAccount", pod.ServiceAccountName)
	if !pod.HostPID || !pod.HostNetwork {
		t.Errorf("hostPID %v, hostNetwork %v: quelld needs the node's processes and network namespace", pod.HostPID, pod.HostNetwork)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want quelld alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !c.SecurityContext.Privileged {
		t.Error("not privileged: only privileged containers get the node's cgroup namespace")
	}

	// The config quelld runs with: its defaults under the ConfigMap's file.
	configPath := enforcer.DefaultDaemonConfigPath
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			configPath = c.Args[i+1]
		}
	}
	cfgMap := find(t, objs, "ConfigMap", "quelld-config")
	dc, err := enforcer.ParseDaemonConfig("quelld.toml", []byte(cfgMap.Data[path.Base(configPath)]))
	if err != nil {
		t.Fatalf("ConfigMap quelld-config: %v", err)
	}

	// mounted returns the mount that holds p in the container and the node
	// path (hostPath) or ConfigMap it comes from.
	type source struct {
		mountPath, subPath, hostPath, configMap string
		readOnly                                bool
	}
	mounted := func(p string) (source, bool) {
		var best source
		found := false
		for _, m := range c.VolumeMounts {
			if p != m.MountPath && !strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") {
				continue
			}
			if found && len(m.MountPath) <= len(best.mountPath) {
				continue
			}
			s := source{mountPath: m.MountPath, subPath: m.SubPath, readOnly: m.ReadOnly}
			for _, v := range pod.Volumes {
				if v.Name != m.Name {
					continue
				}
				if v.HostPath != nil {
					s.hostPath = v.HostPath.Path
				}
				if v.Config != nil {
					s.configMap = v.Config.Name
				}
			}
			best, found = s, true
		}
		return best, found
	}
	// From the node, at the same path in the pod, writable.
	for what, p := range map[string]string{"cgroup_root": dc.CgroupRoot, "state_dir": dc.StateDir, "socket": dc.Socket} {
		s, ok := mounted(p)
		if !ok || s.hostPath == "" {
			t.Errorf("%s %s is not mounted from the node", what, p)
			continue
		}
		if s.hostPath+strings.TrimPrefix(p, s.mountPath) != p || s.readOnly {
			t.Errorf("%s %s comes from the node's %s%s (read-only %v): want the node's own %s, writable",
				what, p, s.hostPath, strings.TrimPrefix(p, s.mountPath), s.readOnly, p)
		}
	}
	// proc_root: the node's /proc (hostPID), wherever it is mounted.
	if s, ok := mounted(dc.ProcRoot); !ok || s.hostPath != "/proc" || s.mountPath != dc.ProcRoot {
		t.Errorf("proc_root %s is not the node's /proc: %+v", dc.ProcRoot, s)
	}
	// The config file: one key of quelld-config.
	if s, ok := mounted(configPath); !ok || s.configMap != "quelld-config" || s.subPath != path.Base(configPath) {
		t.Errorf("%s is not ConfigMap quelld-config's key %s: %+v", configPath, path.Base(configPath), s)
	}
	// The policy dirs: a whole ConfigMap, never a subPath (kubelet never
	// updates a subPath mount: a policy change would never arrive).
	for _, p := range dc.PolicyDirs {
		s, ok := mounted(p)
		if !ok || s.configMap == "" || s.subPath != "" || s.mountPath != p {
			t.Errorf("policy dir %s is not a whole ConfigMap volume: %+v", p, s)
			continue
		}
		pm := find(t, objs, "ConfigMap", s.configMap)
		for key, text := range pm.Data {
			if !strings.HasSuffix(key, ".toml") {
				t.Errorf("ConfigMap %s key %s: quelld reads only *.toml", s.configMap, key)
			}
			if _, err := policies.Parse(key, []byte(text), policies.Options{}); err != nil {
				t.Errorf("ConfigMap %s key %s: %v", s.configMap, key, err)
			}
		}
	}
}
