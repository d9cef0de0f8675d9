package api

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestPeerCredsNamesTheConnectingProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "p.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := net.Dial("unix", path)
		if err == nil {
			defer c.Close()
			buf := make([]byte, 1)
			c.Read(buf)
		}
	}()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cr, err := PeerCreds(conn)
	if err != nil {
		t.Fatal(err)
	}
	if int(cr.PID) != os.Getpid() || int(cr.UID) != os.Geteuid() || int(cr.GID) != os.Getegid() {
		t.Errorf("creds = %+v, want pid %d uid %d gid %d", cr, os.Getpid(), os.Geteuid(), os.Getegid())
	}
	// Our own /proc status gives our supplementary groups.
	if _, err := ProcGroups("")(cr.PID); err != nil {
		t.Errorf("groups of ourselves: %v", err)
	}
}

func TestPeerCredsRejectsTCP(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := PeerCreds(c); err == nil {
		t.Error("PeerCreds on TCP succeeded")
	}
}

func TestPeerCredsGroupsFromTheSocket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "g.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := net.Dial("unix", path); err == nil {
			defer c.Close()
			c.Read(make([]byte, 1))
		}
	}()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cr, err := PeerCreds(conn)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	if !cr.HaveGroups {
		t.Fatalf("no SO_PEERGROUPS on this kernel? creds %+v", cr)
	}
	got := map[uint32]bool{}
	for _, g := range cr.Groups {
		got[g] = true
	}
	for _, g := range want {
		if !got[uint32(g)] {
			t.Errorf("SO_PEERGROUPS %v lacks our group %d (getgroups %v)", cr.Groups, g, want)
		}
	}
	if len(cr.Groups) != len(want) {
		t.Errorf("SO_PEERGROUPS %v, getgroups %v", cr.Groups, want)
	}
}
