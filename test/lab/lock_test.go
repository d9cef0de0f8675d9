package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLockHostExclusiveWaits takes the exclusive lock in a child process
// and checks that a shared taker waits for it and says so.
func TestLockHostExclusiveWaits(t *testing.T) {
	if os.Getenv("LAB_LOCK_CHILD") != "" {
		if err := lockHost(os.Getenv("LAB_LOCK_CHILD"), true, os.Stderr); err != nil {
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(700 * time.Millisecond)
		os.Exit(0)
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestLockHostExclusiveWaits$")
	child.Env = append(os.Environ(), "LAB_LOCK_CHILD="+dir)
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("child did not lock: %q %v", buf, err)
	}
	var log bytes.Buffer
	start := time.Now()
	if err := lockHost(dir, false, &log); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond || !strings.Contains(log.String(), "waiting") {
		t.Fatalf("shared lock did not wait for the exclusive holder (%v, %q)", time.Since(start), log.String())
	}
	child.Wait()
}
