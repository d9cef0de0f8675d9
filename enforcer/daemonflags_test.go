package enforcer

import (
	"reflect"
	"testing"
)

func TestDaemonFlagsOverrideTheFile(t *testing.T) {
	t.Parallel()
	fs, f := NewDaemonFlags()
	if err := fs.Parse([]string{"--policy", "/a,/b", "--state-dir", "/s", "--socket", "/x.sock", "--metrics", "off",
		"--cgroup-root", "/cg", "--dry-run"}); err != nil {
		t.Fatal(err)
	}
	dc := DefaultDaemonConfig()
	f.Apply(&dc)
	if !reflect.DeepEqual(dc.PolicyDirs, []string{"/a", "/b"}) || dc.StateDir != "/s" || dc.Socket != "/x.sock" ||
		dc.MetricsAddr != "off" || dc.CgroupRoot != "/cg" || !dc.DryRun || f.Config != DefaultDaemonConfigPath {
		t.Errorf("flags not applied: %+v (config %s)", dc, f.Config)
	}
	// No flag: the file's values stay, and dry_run = true in the file is
	// not turned off by an absent --dry-run.
	fs, f = NewDaemonFlags()
	_ = fs.Parse(nil)
	file := DefaultDaemonConfig()
	file.DryRun, file.StateDir = true, "/from-file"
	got := file
	f.Apply(&got)
	if !reflect.DeepEqual(got, file) {
		t.Errorf("no flags changed the config: %+v, want %+v", got, file)
	}
}
