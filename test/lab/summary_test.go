package main

import (
	"slices"
	"strings"
	"testing"
)

func TestCountTests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, out      string
		pass, fail, sk int
		failures       []string
	}{
		{"flat", "=== RUN   TestA\n--- PASS: TestA (0.01s)\n=== RUN   TestB\n--- FAIL: TestB (1.00s)\nFAIL\n",
			1, 1, 0, []string{"TestB"}},
		{"subtests count as leaves", "=== RUN   TestC\n=== RUN   TestC/docker\n=== RUN   TestC/podman\n" +
			"    --- PASS: TestC/docker (0.1s)\n    --- FAIL: TestC/podman (0.2s)\n--- FAIL: TestC (0.3s)\n",
			1, 1, 0, []string{"TestC/podman"}},
		{"panic leaves a test without result", "=== RUN   TestD\npanic: boom\n", 0, 1, 0, []string{"TestD"}},
		{"skip is reported", "=== RUN   TestE\n--- SKIP: TestE (0.00s)\n", 0, 0, 1, []string{"TestE (skipped)"}},
		{"garbage", "hello\n--- PASSX\n=== RUN\n", 0, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := countTests(strings.NewReader(tt.out))
			if c.Passed != tt.pass || c.Failed != tt.fail || c.Skipped != tt.sk || !slices.Equal(c.Failures, tt.failures) {
				t.Fatalf("got %+v, want pass %d fail %d skip %d %v", c, tt.pass, tt.fail, tt.sk, tt.failures)
			}
		})
	}
}
