package systemd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDevicePaths(t *testing.T) {
	t.Parallel()
	sys := t.TempDir()
	dir := filepath.Join(sys, "dev", "block", "254:0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	uevent := "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\nDISKSEQ=9\n"
	if err := os.WriteFile(filepath.Join(dir, "uevent"), []byte(uevent), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := DevicePaths(sys, "/dev")
	got, err := paths(254, 0)
	if err != nil || got != "/dev/vda" {
		t.Fatalf("paths(254, 0) = %q, %v; want /dev/vda", got, err)
	}
	if got, err := paths(8, 0); err == nil {
		t.Fatalf("paths(8, 0) = %q, want an error for a missing device", got)
	}
}

func TestParseDevName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"MAJOR=259\nDEVNAME=nvme0n1\n", "nvme0n1", false},
		{"DEVNAME=mapper/x\n", "mapper/x", false},
		{"MAJOR=8\n", "", true},
		{"DEVNAME=\n", "", true},
		{"DEVNAME=../etc/passwd\n", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := parseDevName([]byte(tt.in))
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseDevName(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
