// Package version holds the build's version and commit, set at link time:
//
//	go build -ldflags "-X github.com/quell-dev/quell/internal/version.Version=v1.2.3 -X github.com/quell-dev/quell/internal/version.Commit=abc123"
//
// It imports nothing and does nothing else; a build without -ldflags
// reports Version "dev" and an empty Commit.
package version

// Version is the release (git describe), "dev" when not stamped.
var Version = "dev"

// Commit is the git commit the binary was built from, "" when not stamped.
var Commit = ""
