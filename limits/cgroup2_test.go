package limits

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

type fakeHost struct {
	typ      int64
	files    map[string]string
	writable bool
}

func (f *fakeHost) host() HostCgroup {
	return HostCgroup{
		Statfs: func(string, *unix.Statfs_t) error { return nil },
		ReadFile: func(p string) ([]byte, error) {
			s, ok := f.files[filepath.Base(p)]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return []byte(s), nil
		},
		WriteFile: func(p string, b []byte) error {
			if !f.writable {
				return fs.ErrPermission
			}
			f.files[filepath.Base(p)] += " " + strings.TrimPrefix(string(b), "+")
			return nil
		},
	}
}

func TestCheckCgroup2(t *testing.T) {
	t.Parallel()
	all := "cpuset cpu io memory hugetlb pids rdma misc"
	for _, tc := range []struct {
		name     string
		typ      int64
		avail    string
		enabled  string
		writable bool
		enable   bool
		want     string // "" = ok
	}{
		{"pure v2", unix.CGROUP2_SUPER_MAGIC, all, "cpu io memory pids", false, false, ""},
		{"hybrid tmpfs", unix.TMPFS_MAGIC, all, all, false, false, "is a tmpfs, not cgroup2 (a cgroup v1 or hybrid host)"},
		{"v1 mount", unix.CGROUP_SUPER_MAGIC, all, all, false, false, "systemd.unified_cgroup_hierarchy=1"},
		{"hybrid unified dir", unix.CGROUP2_SUPER_MAGIC, "hugetlb", "hugetlb", false, false, "controllers cpu, io, memory, pids are not available"},
		{"not enabled, read only", unix.CGROUP2_SUPER_MAGIC, all, "memory pids", false, false, "controllers cpu, io are not enabled"},
		{"not enabled, enabled by the check", unix.CGROUP2_SUPER_MAGIC, all, "memory pids", true, true, ""},
		{"not enabled, enabling refused", unix.CGROUP2_SUPER_MAGIC, all, "memory", false, true, "echo '+cpu +io +pids' >"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeHost{files: map[string]string{"cgroup.controllers": tc.avail, "cgroup.subtree_control": tc.enabled}, writable: tc.writable}
			h := f.host()
			typ := tc.typ
			h.Statfs = func(_ string, st *unix.Statfs_t) error { st.Type = typ; return nil }
			err := h.CheckCgroup2("/sys/fs/cgroup", tc.enable)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotCgroup2) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrNotCgroup2 saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// The development hosts are a v1/v2 hybrid: /sys/fs/cgroup is a tmpfs.
// Whatever this host is, the real check must agree with statfs.
func TestCheckCgroup2OnThisHost(t *testing.T) {
	t.Parallel()
	var st unix.Statfs_t
	serr := unix.Statfs("/sys/fs/cgroup", &st)
	err := HostCgroup{}.CheckCgroup2("/sys/fs/cgroup", false)
	if serr != nil { // no /sys/fs/cgroup at all: the check must refuse, not skip
		if err == nil {
			t.Errorf("statfs /sys/fs/cgroup: %v, but the check passed", serr)
		}
		return
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC && !errors.Is(err, ErrNotCgroup2) {
		t.Errorf("statfs type %#x but the check passed", st.Type)
	}
}
