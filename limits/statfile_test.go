package limits

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatFileRereadsAndSeesChanges(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{
		"a.slice/b.scope/cpu.stat": "usage_usec 10\nuser_usec 6\nsystem_usec 4\n",
	})
	f := NewFS(root)
	s, err := f.OpenStatFile("a.slice/b.scope", "cpu.stat")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ParseCPUStat(b); err != nil || st.UsageUsec != 10 || st.Throttling {
		t.Fatalf("first read: %+v, %v", st, err)
	}
	// Longer than the buffer: read whole, not cut at the buffer's end.
	long := "usage_usec 20\nuser_usec 10\nsystem_usec 10\n" + strings.Repeat("some_future_key 1\n", 200)
	if err := os.WriteFile(filepath.Join(root, "a.slice/b.scope/cpu.stat"), []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = s.Read()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != long {
		t.Fatalf("second read: %d bytes, want %d", len(b), len(long))
	}
	if st, err := ParseCPUStat(b); err != nil || st.UsageUsec != 20 {
		t.Fatalf("second read: %+v, %v", st, err)
	}
	if _, err := ParseCPUStat([]byte("usage_usec x\n")); !errors.Is(err, ErrSyntax) {
		t.Errorf("garbage: %v, want ErrSyntax", err)
	}
	s.Close()
	if _, err := s.Read(); err == nil {
		t.Error("read after Close worked")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenStatFileErrors(t *testing.T) {
	t.Parallel()
	outside := fakeTree(t, map[string]string{"cpu.stat": "usage_usec 1\nuser_usec 1\nsystem_usec 0\n"})
	root := fakeTree(t, map[string]string{"a.slice/cpu.stat": "usage_usec 1\nuser_usec 1\nsystem_usec 0\n"})
	if err := os.Symlink(outside, filepath.Join(root, "a.slice", "evil")); err != nil {
		t.Fatal(err)
	}
	f := NewFS(root)
	for _, c := range []struct {
		cg, file string
		want     error
	}{
		{"a.slice/gone.scope", "cpu.stat", ErrGone},
		{"a.slice", "memory.current", ErrMissing},
		{"a.slice/evil", "cpu.stat", ErrUnsafe},
		{"../x", "cpu.stat", ErrUnsafe},
		{"a.slice", "../cpu.stat", ErrUnsafe},
	} {
		if s, err := f.OpenStatFile(c.cg, c.file); !errors.Is(err, c.want) {
			t.Errorf("OpenStatFile(%q, %q) = %v, %v; want %v", c.cg, c.file, s, err, c.want)
		}
	}
}

func TestStatFileReadDoesNotAllocate(t *testing.T) {
	root := fakeTree(t, map[string]string{"a.slice/cpu.stat": cpuStat61})
	s, err := NewFS(root).OpenStatFile("a.slice", "cpu.stat")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	allocs := testing.AllocsPerRun(100, func() {
		b, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCPUStat(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("%v allocations per read and parse, want 0", allocs)
	}
}

func TestStatFileOfRemovedFileIsGone(t *testing.T) {
	t.Parallel()
	root := fakeTree(t, map[string]string{"a.slice/b.scope/cpu.stat": "usage_usec 1\nuser_usec 1\nsystem_usec 0\n"})
	s, err := NewFS(root).OpenStatFile("a.slice/b.scope", "cpu.stat")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.RemoveAll(filepath.Join(root, "a.slice/b.scope")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(); !errors.Is(err, ErrGone) {
		t.Errorf("read after removal: %v, want ErrGone", err)
	}
}
